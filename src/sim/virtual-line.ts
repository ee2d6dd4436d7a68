// One virtual serial line as the gateway sees it: a stable tty path, bytes paced at the line rate,
// faults on demand, and a cable that can be pulled and plugged back in.
//
//   gateway --opens--> path (PTY A) ==socat== PTY A' <--serialport-- PacedRelay --> device side
//
// The device side is an in-process memory end (`device`, hand it to a simulator) or, with
// `deviceSide: 'pty'`, a second PTY pair whose free end `devicePath` a simulator in another process
// can open (then the relay sits between two PTY ends: A' <-> B'). Unplug closes the gateway-side
// pair (its link vanishes, the gateway's open port sees a hang-up); replug recreates it at the
// same path.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SerialPort } from 'serialport';
import type { Clock } from '../lib/clock.js';
import { DEFAULT_FRAMING, type Framing } from '../ports/line-timing.js';
import { memorySerialPair, type MemorySerialEnd } from './memory-serial.js';
import { PacedRelay } from './pacer.js';
import { PtyPair } from './pty.js';
import { closeSerial, openSerial } from './serial-open.js';

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
  private port: SerialPort | null = null;
  private devicePort: SerialPort | null = null;
  private closed = false;

  private constructor(
    readonly path: string,
    private readonly pty: PtyPair,
    private readonly devicePty: PtyPair | null,
    /** The simulator's end when deviceSide is 'memory'. */
    readonly device: MemorySerialEnd | null,
    private readonly relayEnd: MemorySerialEnd | null,
    private readonly ownDir: string | null,
    private readonly opts: VirtualLineOptions,
  ) {
    this.relay = new PacedRelay({ baud: opts.baud, framing: opts.framing ?? DEFAULT_FRAMING, ...(opts.clock ? { clock: opts.clock } : {}), ...(opts.batchMs !== undefined ? { batchMs: opts.batchMs } : {}) });
  }

  static async open(opts: VirtualLineOptions): Promise<VirtualLine> {
    const ownDir = opts.dir === undefined ? await mkdtemp(join(tmpdir(), 'uzp-vline-')) : null;
    const dir = opts.dir ?? ownDir!;
    const name = opts.name ?? 'ttyV0';
    const socat = opts.socatPath === undefined ? {} : { socatPath: opts.socatPath };
    const cleanup: (() => Promise<void>)[] = [];
    try {
      // stageA: the gateway-side path appears only once the relay holds its end (plugRelay).
      const pty = await PtyPair.open({ linkA: join(dir, name), linkB: join(dir, `.${name}.relay`), stageA: true, ...socat });
      cleanup.push(() => pty.close());
      let devicePty: PtyPair | null = null;
      let device: MemorySerialEnd | null = null;
      let relayEnd: MemorySerialEnd | null = null;
      if (opts.deviceSide === 'pty') {
        devicePty = await PtyPair.open({ linkA: join(dir, `${name}.device`), linkB: join(dir, `.${name}.device.relay`), ...socat });
        cleanup.push(() => devicePty!.close());
      } else {
        [device, relayEnd] = memorySerialPair(name);
      }
      const line = new VirtualLine(pty.linkA, pty, devicePty, device, relayEnd, ownDir, opts);
      cleanup.push(() => line.close());
      if (devicePty !== null) {
        line.devicePort = await openSerial(devicePty.linkB, opts.baud);
        line.devicePort.on('error', () => {});
        line.relay.attach('b', line.devicePort);
      } else {
        line.relay.attach('b', relayEnd!);
      }
      await line.plugRelay();
      return line;
    } catch (e) {
      for (const c of cleanup.reverse()) await c().catch(() => {});
      if (ownDir !== null) await rm(ownDir, { recursive: true, force: true });
      throw e;
    }
  }

  /** Where a simulator in another process opens the device side (deviceSide 'pty' only). */
  get devicePath(): string | null {
    return this.devicePty?.linkA ?? null;
  }

  get plugged(): boolean {
    return this.port !== null;
  }

  /** The socat pids behind this line (gateway side, and device side if it is a PTY). */
  get pids(): number[] {
    return [this.pty.pid, this.devicePty?.pid].filter((p): p is number => p !== undefined);
  }

  /** Pulls the cable: the gateway-side PTY pair is closed and its link vanishes. */
  async unplug(): Promise<void> {
    const port = this.port;
    this.port = null;
    this.relay.detach('a');
    if (port !== null) await closeSerial(port);
    await this.pty.close();
  }

  /** Plugs the cable back in at the same path. */
  async replug(): Promise<void> {
    if (this.closed || this.port !== null) return;
    await this.pty.reopen();
    await this.plugRelay();
  }

  /** Unplugs, stops every socat by pid, and removes the temporary directory if it made one. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.unplug();
    this.relay.close();
    if (this.devicePort !== null) await closeSerial(this.devicePort);
    await this.devicePty?.close();
    this.relayEnd?.close();
    if (this.ownDir !== null) await rm(this.ownDir, { recursive: true, force: true });
  }

  private async plugRelay(): Promise<void> {
    const port = await openSerial(this.pty.linkB, this.opts.baud);
    // A hang-up (socat gone) shows up as 'close'; errors are expected then and carry nothing new.
    port.on('error', () => {});
    port.on('close', () => {
      if (this.port === port) {
        this.port = null;
        this.relay.detach('a');
      }
    });
    this.port = port;
    this.relay.attach('a', port);
    // Only now does the gateway-side path appear (PtyPair stageA): whatever the gateway writes as
    // soon as it can open the path reaches the relay, never a PTY end that is not open yet.
    await this.pty.publishA();
  }
}
