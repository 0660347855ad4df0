/**
 * Directory locks: an OS file lock (flock) on a lock file, which the OS releases when its holder exits, even
 * when killed, so a crashed run never leaves a stale lock. A second process on the same directory waits,
 * saying so, until the first one finishes. The file holds the holder's pid, for the message only.
 */
import { join } from "node:path";
import { log } from "./progress.ts";

/** Takes `<dir>/<file>`; `what` describes the holder in the waiting message ("another extraction"). */
export async function lockDir(
  dir: string,
  file: string,
  what: string,
  quiet = false,
): Promise<() => Promise<void>> {
  await Deno.mkdir(dir, { recursive: true });
  const path = join(dir, file);
  const handle = await Deno.open(path, { read: true, write: true, create: true });
  const notice = setTimeout(() => {
    let owner = "another process";
    try {
      owner = `pid ${JSON.parse(Deno.readTextFileSync(path)).pid}`;
    } catch { /* written by nobody yet */ }
    log(`${dir}: ${what} (${owner}) is using this directory; waiting for it to finish`, quiet);
  }, 500);
  try {
    await handle.lock(true);
  } finally {
    clearTimeout(notice);
  }
  await handle.truncate(0);
  await handle.write(
    new TextEncoder().encode(JSON.stringify({ pid: Deno.pid, since: new Date().toISOString() }) + "\n"),
  );
  return async () => {
    await handle.unlock();
    handle.close();
  };
}
