// One pseudo-terminal whose far side is this process's pipes, made by socat
//   socat -d -d pty,raw,echo=0,link=PATH stdio
// The tty at PATH is what a gateway opens; what it writes comes out of `end`, what is written to
// `end` is what it reads. The virtual line's relay holds `end` (virtual-line.ts).
//
// Why not a PTY pair with the relay on its second tty (pty.ts): every byte would then cross two
// PTYs, each a hand-off through the kernel's tty flip buffer and its worker, and a serialport read
// at the far end. Measured here (one byte, one way, after 5 ms of quiet): a socat PTY pair 0.29-0.31
// ms, a PTY to socat's stdout 0.18-0.24 ms (docs/BENCH.md, "eleventh stop"). A real UART has neither
// hop, so the lighter rig measures more of the gateway and less of the simulator.
//
// Unplug stops socat (the PTY vanishes and the gateway's open end sees a hang-up); reopen makes a
// new one at the same path, with a new `end`. socat outlives the gateway closing and reopening the
// tty. Bytes written to `end` while the tty is not open are discarded by the open, as on a line with
// nobody listening.

import type { Readable, Writable } from 'node:stream';
import type { ToolProcess } from './child.js';
import type { ByteDuplex } from './duplex.js';
import { checkLinkPath, socatPid, startSocat, stopSocat, type SocatOptions } from './socat.js';

export interface PtyPipeOptions extends SocatOptions {
  /** Absolute path of the tty link to create (its directory must exist). */
  readonly link: string;
}

/** The far side of the PTY: socat's stdin and stdout as one byte duplex. */
export interface PipeEnd extends ByteDuplex {
  /** Resolves when this end's socat has exited (unplugged, killed or crashed). */
  readonly closed: Promise<void>;
}

export class PtyPipe {
  private tool: ToolProcess | null = null;
  private pipeEnd: PipeEnd | null = null;

  private constructor(private readonly opts: PtyPipeOptions) {}

  /** Starts socat and resolves once the link exists. */
  static async open(opts: PtyPipeOptions): Promise<PtyPipe> {
    checkLinkPath(opts.link);
    const pty = new PtyPipe(opts);
    await pty.reopen();
    return pty;
  }

  get link(): string {
    return this.opts.link;
  }

  /** socat's pid while the PTY exists. */
  get pid(): number | undefined {
    return socatPid(this.tool);
  }

  get isOpen(): boolean {
    return this.pid !== undefined;
  }

  /** The far side while open (a new one after each reopen), else null. */
  get end(): PipeEnd | null {
    return this.isOpen ? this.pipeEnd : null;
  }

  /** Replug: creates the PTY again at the same path (no-op while it is open). */
  async reopen(): Promise<void> {
    if (this.isOpen) return;
    const tool = await startSocat([`pty,raw,echo=0,link=${this.opts.link}`, 'stdio'], [this.opts.link], { ...this.opts, pipes: true });
    this.tool = tool;
    this.pipeEnd = pipeEnd(tool);
  }

  /** Unplug: stops socat by its pid, waits for it to exit, and makes sure the link is gone. */
  async close(): Promise<void> {
    const tool = this.tool;
    this.tool = null;
    this.pipeEnd = null;
    await stopSocat(tool, [this.opts.link]);
  }
}

function pipeEnd(tool: ToolProcess): PipeEnd {
  const input = tool.proc.stdin as Writable;
  const output = tool.proc.stdout as Readable;
  // EPIPE once socat has gone: the relay learns of it from `closed`, the write is simply lost.
  input.on('error', () => {});
  output.on('error', () => {});
  return {
    write: (chunk) => input.write(chunk),
    on: (event, listener) => output.on(event, listener),
    off: (event, listener) => output.off(event, listener),
    pause: () => output.pause(),
    resume: () => output.resume(),
    closed: tool.exited.then(() => {}),
  };
}
