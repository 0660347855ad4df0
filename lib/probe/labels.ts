/** Reading integer class labels from `.npy` files for the probe CLI. */
import { readNpy } from "../formats/npy.ts";

const INTEGER_KINDS = new Set(["i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "b1"]);

/** Reads a 1-D (or N×1) integer/bool `.npy` array as Int32 labels; errors name the file. */
export async function readLabels(path: string): Promise<Int32Array> {
  const a = await readNpy(path);
  const kind = a.dtype.slice(1);
  if (!INTEGER_KINDS.has(kind)) {
    throw new Error(`${path}: labels must be an integer or bool array, got dtype ${a.dtype}`);
  }
  if (!(a.shape.length === 1 || (a.shape.length === 2 && a.shape[1] === 1))) {
    throw new Error(`${path}: labels must be 1-D (or N×1), got shape (${a.shape.join(", ")})`);
  }
  const out = new Int32Array(a.data.length);
  for (let i = 0; i < a.data.length; i++) {
    const v = Number(a.data[i]);
    if (!Number.isSafeInteger(v) || v < -2147483648 || v > 2147483647) {
      throw new Error(`${path}: label ${a.data[i]} at row ${i} does not fit a 32-bit integer`);
    }
    out[i] = v;
  }
  return out;
}
