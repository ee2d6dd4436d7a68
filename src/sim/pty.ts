// A pair of connected pseudo-terminals made by socat
//   socat -d -d pty,raw,echo=0,link=A pty,raw,echo=0,link=B
// Bytes written to one end are read at the other, unpaced (see pacer.ts for line-rate delivery).
// The links are stable paths; unplugging closes the pair (socat exits and removes the links, the
// open ends see a hang-up) and replugging recreates it at the same paths, like a USB adapter
// coming back under its udev symlink.

import type { ToolProcess } from './child.js';
import { checkLinkPath, socatPid, startSocat, stopSocat, type SocatOptions } from './socat.js';

export interface PtyPairOptions extends SocatOptions {
  /** Absolute paths of the two links to create (their directory must exist). */
  readonly linkA: string;
  readonly linkB: string;
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
    return socatPid(this.tool);
  }
  get isOpen(): boolean {
    return this.pid !== undefined;
  }

  /** Replug: creates the pair again at the same link paths (no-op while it is open). */
  async reopen(): Promise<void> {
    if (this.isOpen) return;
    const { linkA, linkB } = this.opts;
    this.tool = await startSocat([`pty,raw,echo=0,link=${linkA}`, `pty,raw,echo=0,link=${linkB}`], [linkA, linkB], this.opts);
  }

  /** Unplug: stops socat by its pid, waits for it to exit, and makes sure both links are gone. */
  async close(): Promise<void> {
    const tool = this.tool;
    this.tool = null;
    await stopSocat(tool, [this.opts.linkA, this.opts.linkB]);
  }
}
