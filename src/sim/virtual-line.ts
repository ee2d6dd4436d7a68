// One virtual serial line as the gateway sees it: a stable tty path, bytes paced at the line rate,
// faults on demand, and a cable that can be pulled and plugged back in.
//
//   gateway --opens--> path (PTY) ==socat== pipes <-- PacedRelay --> device side
//
// The device side is an in-process memory end (`device`, hand it to a simulator) or, with
// `deviceSide: 'pty'`, a second PTY whose path `devicePath` a simulator in another process can open
// (then the relay sits between two socat pipes). Unplug stops the gateway-side socat (the path
// vanishes, the gateway's open port sees a hang-up); replug recreates it at the same path. Each
// side is one PTY with the relay on socat's pipes (pty-pipe.ts says why not a PTY pair).

import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock } from '../lib/clock.js';
import { dirRemoved } from '../lib/reaper.js';
import { makeTempDir } from '../lib/temp-dir.js';
import { DEFAULT_FRAMING, type Framing } from '../ports/line-timing.js';
import { memorySerialPair, type MemorySerialEnd } from './memory-serial.js';
import { PacedRelay } from './pacer.js';
import { PtyPipe, type PipeEnd } from './pty-pipe.js';

export interface VirtualLineOptions {
  readonly baud: number;
  readonly framing?: Framing;
  /** Directory for the links (default: a fresh temporary directory, removed by close()). */
  readonly dir?: string;
  /** File name of the gateway-side link (default `ttyV0`). */
  readonly name?: string;
  /** `memory` (default): the simulator runs in this process; `pty`: it opens `devicePath`. */
  readonly deviceSide?: 'memory' | 'pty';
  readonly socatPath?: string;
  readonly clock?: Clock;
  /** Delivery batches of at least this many ms, the last byte of a burst still on time (PacedRelayOptions.batchMs). */
  readonly batchMs?: number;
}

export class VirtualLine {
  /** Faults toward the device are 'aToB', toward the gateway 'bToA'. */
  readonly relay: PacedRelay;
  /** The gateway-side PTY's far end while plugged. */
  private pluggedEnd: PipeEnd | null = null;
  private closed = false;

  private constructor(
    private readonly pty: PtyPipe,
    private readonly devicePty: PtyPipe | null,
    /** The simulator's end when deviceSide is 'memory'. */
    readonly device: MemorySerialEnd | null,
    private readonly relayEnd: MemorySerialEnd | null,
    private readonly ownDir: string | null,
    opts: VirtualLineOptions,
  ) {
    this.relay = new PacedRelay({ baud: opts.baud, framing: opts.framing ?? DEFAULT_FRAMING, ...(opts.clock ? { clock: opts.clock } : {}), ...(opts.batchMs !== undefined ? { batchMs: opts.batchMs } : {}) });
  }

  static async open(opts: VirtualLineOptions): Promise<VirtualLine> {
    const ownDir = opts.dir === undefined ? makeTempDir('vline-') : null;
    const dir = opts.dir ?? ownDir!;
    const name = opts.name ?? 'ttyV0';
    const socat = opts.socatPath === undefined ? {} : { socatPath: opts.socatPath };
    const cleanup: (() => Promise<void>)[] = [];
    try {
      const pty = await PtyPipe.open({ link: join(dir, name), ...socat });
      cleanup.push(() => pty.close());
      let devicePty: PtyPipe | null = null;
      let device: MemorySerialEnd | null = null;
      let relayEnd: MemorySerialEnd | null = null;
      if (opts.deviceSide === 'pty') {
        devicePty = await PtyPipe.open({ link: join(dir, `${name}.device`), ...socat });
        cleanup.push(() => devicePty!.close());
      } else {
        [device, relayEnd] = memorySerialPair(name);
      }
      const line = new VirtualLine(pty, devicePty, device, relayEnd, ownDir, opts);
      cleanup.push(() => line.close());
      line.relay.attach('b', devicePty?.end ?? relayEnd!);
      line.plugRelay();
      return line;
    } catch (e) {
      for (const c of cleanup.reverse()) await c().catch(() => {});
      if (ownDir !== null) {
        await rm(ownDir, { recursive: true, force: true });
        dirRemoved(ownDir);
      }
      throw e;
    }
  }

  /** The tty path the gateway opens. */
  get path(): string {
    return this.pty.link;
  }

  /** Where a simulator in another process opens the device side (deviceSide 'pty' only). */
  get devicePath(): string | null {
    return this.devicePty?.link ?? null;
  }

  get plugged(): boolean {
    return this.pluggedEnd !== null;
  }

  /** The socat pids behind this line (gateway side, and device side if it is a PTY). */
  get pids(): number[] {
    return [this.pty.pid, this.devicePty?.pid].filter((p): p is number => p !== undefined);
  }

  /** Pulls the cable: the gateway-side PTY is closed and its link vanishes. */
  async unplug(): Promise<void> {
    this.pluggedEnd = null;
    this.relay.detach('a');
    await this.pty.close();
  }

  /** Plugs the cable back in at the same path. */
  async replug(): Promise<void> {
    if (this.closed || this.pluggedEnd !== null) return;
    await this.pty.reopen();
    this.plugRelay();
  }

  /** Unplugs, stops every socat by pid, and removes the temporary directory if it made one. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.unplug();
    this.relay.close();
    await this.devicePty?.close();
    this.relayEnd?.close();
    if (this.ownDir !== null) {
      await rm(this.ownDir, { recursive: true, force: true });
      dirRemoved(this.ownDir);
    }
  }

  private plugRelay(): void {
    const end = this.pty.end;
    if (end === null) return;
    this.pluggedEnd = end;
    this.relay.attach('a', end);
    // socat gone by itself (killed, crashed): the cable is out, as after unplug().
    void end.closed.then(() => {
      if (this.pluggedEnd === end) {
        this.pluggedEnd = null;
        this.relay.detach('a');
      }
    });
  }
}
