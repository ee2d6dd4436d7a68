// A pair of connected pseudo-terminals made by socat
//   socat -d -d pty,raw,echo=0,link=A pty,raw,echo=0,link=B
// Bytes written to one end are read at the other, unpaced (see pacer.ts for line-rate delivery).
// The links are stable paths; unplugging closes the pair (socat exits and removes the links, the
// open ends see a hang-up) and replugging recreates it at the same paths, like a USB adapter
// coming back under its udev symlink.

import { lstat } from 'node:fs/promises';
import { isRunning, startTool, stopTool, type ToolProcess } from './child.js';
import { LocalError } from '../lib/errors.js';
import { SimErrorCode } from './errors.js';
import { checkLinkPath, removeStaleLink, SOCAT_HINT, waitReady } from './socat.js';

export interface PtyPairOptions {
  /** Absolute paths of the two links to create (their directory must exist). */
  readonly linkA: string;
  readonly linkB: string;
  /** The socat executable (default `socat` on PATH). */
  readonly socatPath?: string;
  /** How long socat may take to set up both PTYs (default 5000 ms). */
  readonly readyTimeoutMs?: number;
}

export class PtyPair {
  private tool: ToolProcess | null = null;

  private constructor(private readonly opts: PtyPairOptions) {}

  /** Starts socat and resolves once both links exist. */
  static async open(opts: PtyPairOptions): Promise<PtyPair> {
    checkLinkPath(opts.linkA);
    checkLinkPath(opts.linkB);
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

  /** Replug: creates the pair again at the same link paths (no-op while it is open). */
  async reopen(): Promise<void> {
    if (this.isOpen) return;
    await removeStaleLink(this.opts.linkA);
    await removeStaleLink(this.opts.linkB);
    const args = ['-d', '-d', `pty,raw,echo=0,link=${this.opts.linkA}`, `pty,raw,echo=0,link=${this.opts.linkB}`];
    const tool = await startTool(this.opts.socatPath ?? 'socat', args, SOCAT_HINT);
    this.tool = tool;
    try {
      await waitReady(tool, this.opts.readyTimeoutMs ?? 5000);
      await Promise.all([lstat(this.opts.linkA), lstat(this.opts.linkB)]);
    } catch (e) {
      await this.close();
      if (e instanceof LocalError) throw e;
      throw new LocalError(SimErrorCode.TOOL_FAILED, `socat did not create ${this.opts.linkA} and ${this.opts.linkB}: ${String(e)}\n${tool.stderr()}`, { cause: e });
    }
  }

  /** Unplug: stops socat by its pid, waits for it to exit, and makes sure both links are gone. */
  async close(): Promise<void> {
    const tool = this.tool;
    this.tool = null;
    if (tool !== null) await stopTool(tool);
    // SIGTERM makes socat unlink them; after a SIGKILL they would dangle.
    await removeStaleLink(this.opts.linkA);
    await removeStaleLink(this.opts.linkB);
  }
}
