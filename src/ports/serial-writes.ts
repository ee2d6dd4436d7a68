// SerialLink's write side: the queue of writes for the device, bounded by bytes, written one at a
// time to the open port. The bound covers bytes queued while the device is away plus bytes handed
// to the OS but not yet written: they never exceed maxQueuedBytes; beyond that a write is dropped
// with a counted, logged reason and rejects with BUFFER_FULL. When the device is lost, writes still
// queued reject with PORT_LOST (nothing of them was sent); a write cut off mid-way rejects with
// PORT_IO and is not sent again, because part of it may already be on the wire. The link (serial.ts)
// says when a port is open to write to, and is told when a write finds the device gone.

import { describeError, type PortLog } from './log.js';
import { PortIoError, serialClosedError, serialLostError } from './errors.js';
import { writeAndWait, type SerialPortLike } from './serial-port-like.js';
import type { Rs485Direction } from './rs485.js';
import { CodedError, CommonCode, StateError } from '../lib/errors.js';

export type DropReason = 'queue-full' | 'io-error' | 'lost' | 'closed';

/** The counters of SerialLink.stats that the write side keeps. */
export interface WriteStats {
  bytesOut: number;
  droppedWrites: number;
  droppedBytes: number;
}

interface PendingWrite {
  readonly data: Uint8Array;
  readonly resolve: () => void;
  readonly reject: (e: CodedError) => void;
}

export class SerialWrites {
  private readonly queue: PendingWrite[] = [];
  private queuedBytes = 0;
  private writing = false;

  constructor(
    private readonly path: string,
    private readonly maxQueuedBytes: number,
    private readonly rs485: Rs485Direction | null,
    private readonly stats: WriteStats,
    private readonly log: PortLog,
    /** The port to write to while the link is open, else null. */
    private readonly openPort: () => SerialPortLike | null,
    /** A write failed: the device went away (the link drops the port and reopens). */
    private readonly writeFailed: (port: SerialPortLike, reason: string) => void,
    /** Every dropped write (the link's `drop` event). */
    private readonly emitDrop: (info: { bytes: number; reason: DropReason }) => void,
  ) {}

  /** Bytes accepted by add() and not yet written to the device. */
  get pendingBytes(): number {
    return this.queuedBytes;
  }

  /** Queues `data` (SerialLink.write, once the link is known not to be closed). */
  add(data: Uint8Array): Promise<void> {
    if (data.length === 0) return Promise.resolve();
    if (this.queuedBytes + data.length > this.maxQueuedBytes) {
      this.dropped(data.length, 'queue-full');
      return Promise.reject(new StateError(CommonCode.BUFFER_FULL, `serial ${this.path}: ${this.queuedBytes} bytes already queued (limit ${this.maxQueuedBytes}); dropped a ${data.length}-byte write`));
    }
    this.queuedBytes += data.length;
    return new Promise((resolve, reject) => {
      this.queue.push({ data, resolve, reject });
      this.pump();
    });
  }

  /** The link closed for good: every queued write rejects with PORT_CLOSED. */
  close(): void {
    for (const w of this.queue.splice(0)) {
      this.dropped(w.data.length, 'closed');
      w.reject(serialClosedError(this.path));
    }
    this.queuedBytes = 0;
  }

  /**
   * Rejects every write not yet handed to the lost port (PORT_LOST): sent after the reopen, an
   * operator's command reached the device minutes later, or another device now on that path, and
   * its promise said delivered. The write in flight, if any, ends through its own callback.
   */
  lost(reason: string): void {
    const unsent = this.queue.splice(this.writing ? 1 : 0);
    if (unsent.length === 0) return;
    let bytes = 0;
    for (const w of unsent) {
      bytes += w.data.length;
      this.queuedBytes -= w.data.length;
      this.dropped(w.data.length, 'lost');
      w.reject(serialLostError(this.path, reason));
    }
    this.log.warn({ path: this.path, writes: unsent.length, bytes, droppedWrites: this.stats.droppedWrites }, 'serial: queued writes dropped, device lost');
  }

  /** Writes the next queued write, if the link is open and none is in flight. */
  pump(): void {
    if (this.writing) return;
    const port = this.openPort();
    if (port === null) return;
    const w = this.queue[0];
    if (!w) return;
    this.writing = true;
    const send = this.rs485 ? this.rs485.send(port, w.data) : writeAndWait(port, w.data);
    send.then(
      () => {
        this.queue.shift();
        this.queuedBytes -= w.data.length;
        this.stats.bytesOut += w.data.length;
        this.writing = false;
        w.resolve();
        this.pump();
      },
      (e: unknown) => {
        // The device vanished mid-write: part of it may be on the wire, so it is not resent.
        this.queue.shift();
        this.queuedBytes -= w.data.length;
        this.writing = false;
        this.dropped(w.data.length, 'io-error');
        w.reject(new PortIoError(`serial ${this.path}: write failed: ${describeError(e)}`, { cause: e }));
        this.writeFailed(port, `write failed: ${describeError(e)}`);
        this.pump();
      },
    );
  }

  private dropped(bytes: number, reason: DropReason): void {
    this.stats.droppedWrites++;
    this.stats.droppedBytes += bytes;
    if (reason !== 'closed' && reason !== 'lost') this.log.warn({ path: this.path, bytes, reason, droppedWrites: this.stats.droppedWrites }, 'serial: write dropped');
    this.emitDrop({ bytes, reason });
  }
}
