// A pair of connected pseudo-terminals made by socat
//   socat -d -d pty,raw,echo=0,link=A pty,raw,echo=0,link=B
// Bytes written to one end are read at the other, unpaced (see pacer.ts for line-rate delivery).
// The links are stable paths; unplugging closes the pair (socat exits and removes the links, the
// open ends see a hang-up) and replugging recreates it at the same paths, like a USB adapter
// coming back under its udev symlink.

import { lstat, rename, unlink } from 'node:fs/promises';
import { isRunning, startTool, stopTool, type ToolProcess } from './child.js';
import { CommonCode, LocalError } from '../lib/errors.js';
import { SimErrorCode } from './errors.js';
import { FileErrorCode } from '../files/errors.js';

export interface PtyPairOptions {
  /** Absolute paths of the two links to create (their directory must exist). */
  readonly linkA: string;
  readonly linkB: string;
  /** The socat executable (default `socat` on PATH). */
  readonly socatPath?: string;
  /** How long socat may take to set up both PTYs (default 5000 ms). */
  readonly readyTimeoutMs?: number;
  /**
   * Create linkA under a staging name and show it at linkA only on publishA(): whoever opens linkB
   * first (a relay) is then in place before anyone can open linkA and write, so nothing written is
   * flushed away when linkB is opened (an open sets the line up and discards pending input).
   */
  readonly stageA?: boolean;
}

const SOCAT_HINT = 'install it (Debian/Ubuntu: apt-get install socat; `npm test` runs scripts/ensure-system-packages.sh which does) or run the demo without PTYs';
/** socat -d -d prints this once both addresses are open. */
const READY = 'starting data transfer loop';

export class PtyPair {
  private tool: ToolProcess | null = null;

  private constructor(private readonly opts: PtyPairOptions) {}

  /** Starts socat and resolves once both links exist. */
  static async open(opts: PtyPairOptions): Promise<PtyPair> {
    for (const p of [opts.linkA, opts.linkB]) {
      // socat's address syntax splits on these; a path containing them would be misparsed.
      if (!p.startsWith('/') || /[,:!{}\s]/.test(p)) throw new LocalError(CommonCode.USAGE, `pty link path must be absolute and free of , : ! { } and spaces: ${JSON.stringify(p)}`);
    }
    const pair = new PtyPair(opts);
    await pair.reopen();
    return pair;
  }

  get linkA(): string {
    return this.opts.linkA;
  }
  get linkB(): string {
    return this.opts.linkB;
  }
  /** socat's pid while the pair exists. */
  get pid(): number | undefined {
    return this.tool !== null && isRunning(this.tool) ? this.tool.pid : undefined;
  }
  get isOpen(): boolean {
    return this.pid !== undefined;
  }

  /** Where socat creates linkA: linkA itself, or its staging name until publishA(). */
  private get createdA(): string {
    return this.opts.stageA === true ? `${this.opts.linkA}.staged` : this.opts.linkA;
  }

  /** Replug: creates the pair again at the same link paths (no-op while it is open). */
  async reopen(): Promise<void> {
    if (this.isOpen) return;
    await removeStaleLink(this.opts.linkA);
    await removeStaleLink(this.createdA);
    await removeStaleLink(this.opts.linkB);
    const args = ['-d', '-d', `pty,raw,echo=0,link=${this.createdA}`, `pty,raw,echo=0,link=${this.opts.linkB}`];
    const tool = await startTool(this.opts.socatPath ?? 'socat', args, SOCAT_HINT);
    this.tool = tool;
    try {
      await waitReady(tool, this.opts.readyTimeoutMs ?? 5000);
      await Promise.all([lstat(this.createdA), lstat(this.opts.linkB)]);
    } catch (e) {
      await this.close();
      if (e instanceof LocalError) throw e;
      throw new LocalError(SimErrorCode.TOOL_FAILED, `socat did not create ${this.opts.linkA} and ${this.opts.linkB}: ${String(e)}\n${tool.stderr()}`, { cause: e });
    }
  }

  /** With stageA: shows linkA at its path (an atomic rename of the staged link). */
  async publishA(): Promise<void> {
    if (this.opts.stageA === true && this.isOpen) await rename(this.createdA, this.opts.linkA);
  }

  /** Unplug: stops socat by its pid, waits for it to exit, and makes sure both links are gone. */
  async close(): Promise<void> {
    const tool = this.tool;
    this.tool = null;
    if (tool !== null) await stopTool(tool);
    // SIGTERM makes socat unlink them (a published staged link keeps its path: removed here); after
    // a SIGKILL they would dangle.
    await removeStaleLink(this.opts.linkA);
    await removeStaleLink(this.createdA);
    await removeStaleLink(this.opts.linkB);
  }
}

function waitReady(tool: ToolProcess, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const stream = tool.proc.stderr!;
    const check = (): void => {
      if (tool.stderr().includes(READY)) done(null);
    };
    const onExit = (code: number | null): void => done(new LocalError(SimErrorCode.TOOL_FAILED, `socat exited (code ${code}) before the PTYs were ready:\n${tool.stderr()}`));
    const timer = setTimeout(() => done(new LocalError(SimErrorCode.TOOL_FAILED, `socat did not set up the PTYs within ${timeoutMs} ms:\n${tool.stderr()}`)), timeoutMs);
    const done = (e: Error | null): void => {
      clearTimeout(timer);
      stream.off('data', check);
      tool.proc.off('exit', onExit);
      if (e === null) resolve();
      else reject(e);
    };
    stream.on('data', check);
    tool.proc.once('exit', onExit);
    check();
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
