/**
 * The subset of `jsr:@std/assert@1` the tests use, built on `node:assert` because jsr.io is not reachable
 * from every machine this project runs on. Signatures match @std/assert, so pointing the `@std/assert`
 * import in deno.json at `jsr:@std/assert@1` is a one-line switch.
 */
import nodeAssert from "node:assert";
import { isDeepStrictEqual } from "node:util";

export class AssertionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AssertionError";
  }
}

export function fail(msg?: string): never {
  throw new AssertionError(`Failed assertion${msg ? `: ${msg}` : "."}`);
}

export function assert(expr: unknown, msg = ""): asserts expr {
  if (!expr) throw new AssertionError(msg || "Expected expression to be truthy");
}

export function assertEquals<T>(actual: T, expected: T, msg?: string): void {
  try {
    nodeAssert.deepStrictEqual(actual, expected);
  } catch (e) {
    throw new AssertionError(`${msg ? msg + ": " : ""}${(e as Error).message}`);
  }
}

export function assertNotEquals<T>(actual: T, expected: T, msg?: string): void {
  try {
    nodeAssert.notDeepStrictEqual(actual, expected);
  } catch (e) {
    throw new AssertionError(`${msg ? msg + ": " : ""}${(e as Error).message}`);
  }
}

export function assertStrictEquals<T>(actual: unknown, expected: T, msg?: string): asserts actual is T {
  if (!Object.is(actual, expected)) {
    throw new AssertionError(`${msg ? msg + ": " : ""}expected ${String(expected)}, got ${String(actual)}`);
  }
}

export function assertAlmostEquals(actual: number, expected: number, tolerance?: number, msg?: string): void {
  if (Object.is(actual, expected)) return;
  const tol = tolerance ?? Math.abs(expected) * 1e-7;
  const delta = Math.abs(expected - actual);
  if (!(delta <= tol)) {
    throw new AssertionError(
      `${msg ? msg + ": " : ""}expected ${actual} to be close to ${expected} (delta ${delta} > ${tol})`,
    );
  }
}

export function assertGreater<T>(actual: T, expected: T, msg?: string): void {
  if (!(actual > expected)) throw new AssertionError(msg ?? `expected ${actual} > ${expected}`);
}

export function assertGreaterOrEqual<T>(actual: T, expected: T, msg?: string): void {
  if (!(actual >= expected)) throw new AssertionError(msg ?? `expected ${actual} >= ${expected}`);
}

export function assertLess<T>(actual: T, expected: T, msg?: string): void {
  if (!(actual < expected)) throw new AssertionError(msg ?? `expected ${actual} < ${expected}`);
}

export function assertLessOrEqual<T>(actual: T, expected: T, msg?: string): void {
  if (!(actual <= expected)) throw new AssertionError(msg ?? `expected ${actual} <= ${expected}`);
}

export function assertExists<T>(actual: T, msg?: string): asserts actual is NonNullable<T> {
  if (actual === undefined || actual === null) {
    throw new AssertionError(msg ?? `expected value to exist, got ${actual}`);
  }
}

export function assertMatch(actual: string, expected: RegExp, msg?: string): void {
  if (!expected.test(actual)) {
    throw new AssertionError(msg ?? `expected ${JSON.stringify(actual)} to match ${expected}`);
  }
}

export function assertStringIncludes(actual: string, expected: string, msg?: string): void {
  if (!actual.includes(expected)) {
    throw new AssertionError(
      msg ?? `expected ${JSON.stringify(actual)} to include ${JSON.stringify(expected)}`,
    );
  }
}

export function assertArrayIncludes<T>(actual: ArrayLike<T>, expected: ArrayLike<T>, msg?: string): void {
  const arr = Array.from(actual);
  for (const e of Array.from(expected)) {
    if (!arr.some((a) => isDeepStrictEqual(a, e))) {
      throw new AssertionError(msg ?? `expected array to include ${JSON.stringify(e)}`);
    }
  }
}

export function assertInstanceOf<T extends abstract new (...args: never[]) => unknown>(
  actual: unknown,
  expectedType: T,
  msg?: string,
): asserts actual is InstanceType<T> {
  if (!(actual instanceof expectedType)) {
    throw new AssertionError(msg ?? `expected instance of ${expectedType.name}`);
  }
}

type ErrorClass<E extends Error> = abstract new (...args: never[]) => E;

function checkError<E extends Error>(
  err: unknown,
  ErrorClass?: ErrorClass<E>,
  msgIncludes?: string,
  msg?: string,
): E {
  if (ErrorClass && !(err instanceof ErrorClass)) {
    throw new AssertionError(
      `${msg ? msg + ": " : ""}expected error to be instance of ${ErrorClass.name}, got ${String(err)}`,
    );
  }
  if (msgIncludes !== undefined && !String((err as Error)?.message ?? err).includes(msgIncludes)) {
    throw new AssertionError(
      `${msg ? msg + ": " : ""}expected error message to include ${JSON.stringify(msgIncludes)}, got ${
        JSON.stringify(String((err as Error)?.message ?? err))
      }`,
    );
  }
  return err as E;
}

export function assertThrows<E extends Error = Error>(
  fn: () => unknown,
  ErrorClass?: ErrorClass<E>,
  msgIncludes?: string,
  msg?: string,
): E {
  try {
    fn();
  } catch (err) {
    return checkError(err, ErrorClass, msgIncludes, msg);
  }
  throw new AssertionError(msg ?? "Expected function to throw.");
}

export async function assertRejects<E extends Error = Error>(
  fn: () => PromiseLike<unknown>,
  ErrorClass?: ErrorClass<E>,
  msgIncludes?: string,
  msg?: string,
): Promise<E> {
  try {
    await fn();
  } catch (err) {
    return checkError(err, ErrorClass, msgIncludes, msg);
  }
  throw new AssertionError(msg ?? "Expected function to reject.");
}
