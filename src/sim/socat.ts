// What the PTY makers (pty.ts, pty-pipe.ts) share about socat: the link paths it accepts, starting
// it until its links exist (and cleaning up when that fails), and stopping it by pid with the stale
// links a killed socat leaves removed.

import { lstat, unlink } from 'node:fs/promises';
import { isRunning, startTool, stopTool, waitForStderr, type ToolProcess } from './child.js';
import { CommonCode, LocalError } from '../lib/errors.js';
import { SimErrorCode } from './errors.js';
import { FileErrorCode } from '../files/errors.js';

const SOCAT_HINT = 'install it (Debian/Ubuntu: apt-get install socat; `npm test` runs scripts/ensure-system-packages.sh which does) or run the demo without PTYs';
/** socat -d -d prints this once both addresses are open. */
const READY = 'starting data transfer loop';

/** Throws USAGE unless `p` is absolute and free of what socat's address syntax splits on. */
export function checkLinkPath(p: string): void {
  if (!p.startsWith('/') || /[,:!{}\s]/.test(p)) throw new LocalError(CommonCode.USAGE, `pty link path must be absolute and free of , : ! { } and spaces: ${JSON.stringify(p)}`);
}

export interface SocatOptions {
  /** The socat executable (default `socat` on PATH). */
  readonly socatPath?: string;
  /** How long socat may take to open its addresses (default 5000 ms). */
  readonly readyTimeoutMs?: number;
}

/**
 * Starts `socat -d -d ADDRESSES…` (no shell), which makes `links`; resolves once it says its
 * addresses are open and the links exist. `pipes`: its stdin and stdout are pipes to this process.
 * On failure socat is stopped and the links removed: TOOL_MISSING (how to install it) or
 * TOOL_FAILED with socat's own log.
 */
export async function startSocat(addresses: readonly string[], links: readonly string[], opts: SocatOptions & { readonly pipes?: boolean } = {}): Promise<ToolProcess> {
  for (const l of links) await removeStaleLink(l);
  const tool = await startTool(opts.socatPath ?? 'socat', ['-d', '-d', ...addresses], SOCAT_HINT, { pipes: opts.pipes === true });
  try {
    await waitReady(tool, opts.readyTimeoutMs ?? 5000);
    await Promise.all(links.map((l) => lstat(l)));
  } catch (e) {
    await stopSocat(tool, links);
    if (e instanceof LocalError) throw e;
    throw new LocalError(SimErrorCode.TOOL_FAILED, `socat did not create ${links.join(' and ')}: ${String(e)}\n${tool.stderr()}`, { cause: e });
  }
  return tool;
}

/** socat's pid while it runs (the PTYs it made exist), else undefined. */
export function socatPid(tool: ToolProcess | null): number | undefined {
  return tool !== null && isRunning(tool) ? tool.pid : undefined;
}

/** Stops `tool` by its pid, waits for it to exit, and makes sure `links` are gone (SIGTERM makes socat unlink them; after a SIGKILL they would dangle). */
export async function stopSocat(tool: ToolProcess | null, links: readonly string[]): Promise<void> {
  if (tool !== null) await stopTool(tool);
  for (const l of links) await removeStaleLink(l);
}

/** Resolves once socat (started with -d -d) says its addresses are open; rejects if it exits or times out. */
function waitReady(tool: ToolProcess, timeoutMs: number): Promise<void> {
  return waitForStderr(tool, (log) => log.includes(READY), timeoutMs, {
    exited: (code) => `socat exited (code ${code}) before the PTYs were ready`,
    timedOut: `socat did not set up the PTYs within ${timeoutMs} ms`,
  });
}

/** Removes `path` if it is a symlink (a link a killed socat left behind); never a real file. */
async function removeStaleLink(path: string): Promise<void> {
  let st;
  try {
    st = await lstat(path);
  } catch {
    return;
  }
  if (!st.isSymbolicLink()) throw new LocalError(FileErrorCode.FILE_EXISTS, `${path} exists and is not a symlink; refusing to replace it with a PTY link`);
  await unlink(path).catch(() => {});
}
