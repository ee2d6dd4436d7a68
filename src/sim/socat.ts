// What the PTY makers (pty.ts, pty-pipe.ts) share about socat: its install hint, the line it prints
// once its addresses are open, the link paths it accepts, and the stale links a killed socat leaves.

import { lstat, unlink } from 'node:fs/promises';
import { waitForStderr, type ToolProcess } from './child.js';
import { CommonCode, LocalError } from '../lib/errors.js';
import { FileErrorCode } from '../files/errors.js';

export const SOCAT_HINT = 'install it (Debian/Ubuntu: apt-get install socat; `npm test` runs scripts/ensure-system-packages.sh which does) or run the demo without PTYs';
/** socat -d -d prints this once both addresses are open. */
const READY = 'starting data transfer loop';

/** Throws USAGE unless `p` is absolute and free of what socat's address syntax splits on. */
export function checkLinkPath(p: string): void {
  if (!p.startsWith('/') || /[,:!{}\s]/.test(p)) throw new LocalError(CommonCode.USAGE, `pty link path must be absolute and free of , : ! { } and spaces: ${JSON.stringify(p)}`);
}

/** Resolves once socat (started with -d -d) says its addresses are open; rejects if it exits or times out. */
export function waitReady(tool: ToolProcess, timeoutMs: number): Promise<void> {
  return waitForStderr(tool, (log) => log.includes(READY), timeoutMs, {
    exited: (code) => `socat exited (code ${code}) before the PTYs were ready`,
    timedOut: `socat did not set up the PTYs within ${timeoutMs} ms`,
  });
}

/** Removes `path` if it is a symlink (a link a killed socat left behind); never a real file. */
export async function removeStaleLink(path: string): Promise<void> {
  let st;
  try {
    st = await lstat(path);
  } catch {
    return;
  }
  if (!st.isSymbolicLink()) throw new LocalError(FileErrorCode.FILE_EXISTS, `${path} exists and is not a symlink; refusing to replace it with a PTY link`);
  await unlink(path).catch(() => {});
}
