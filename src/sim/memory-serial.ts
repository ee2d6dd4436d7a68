// An in-memory serial cable: two Duplex ends, bytes written to one arrive as 'data' on the other
// (on a later turn of the event loop, in order, like a tty read). It has the surface simulators and
// the pacer use (write / 'data' / close / isOpen / path), so the demo can run every simulator when
// socat is missing.
//
// Limitation: there is no device node. A memory end cannot be opened by path, so a gateway in
// another process cannot reach it; only code in the same process that is handed the end can.

import { Duplex } from 'node:stream';

let nextId = 1;

export class MemorySerialEnd extends Duplex {
  /** `memory:<pair>/<a|b>`: for logs only, not openable. */
  readonly path: string;
  private peer: MemorySerialEnd | null = null;
  private open = true;

  constructor(path: string) {
    super({ allowHalfOpen: false });
    this.path = path;
  }

  /** @internal wires the two ends of a pair. */
  static link(a: MemorySerialEnd, b: MemorySerialEnd): void {
    a.peer = b;
    b.peer = a;
  }

  get isOpen(): boolean {
    return this.open;
  }

  override _read(): void {
    // Bytes are pushed by the peer's writes; nothing to pull.
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    const peer = this.peer;
    // Like a cable with nobody at the far end: bytes written after unplugging are lost, not an error.
    if (peer !== null && peer.open) {
      const copy = Buffer.from(chunk);
      setImmediate(() => {
        if (peer.open) peer.push(copy);
      });
    }
    cb();
  }

  /** Closes both ends (the cable is pulled): each emits 'close', further writes are dropped. */
  close(cb?: (err: Error | null) => void): void {
    const ends = [this, this.peer].filter((e): e is MemorySerialEnd => e !== null && e.open);
    for (const e of ends) {
      e.open = false;
      e.push(null);
      e.destroy();
    }
    if (cb !== undefined) setImmediate(() => cb(null));
  }
}

/** A connected pair of in-memory serial ends. */
export function memorySerialPair(name = `pair${nextId++}`): [MemorySerialEnd, MemorySerialEnd] {
  const a = new MemorySerialEnd(`memory:${name}/a`);
  const b = new MemorySerialEnd(`memory:${name}/b`);
  MemorySerialEnd.link(a, b);
  return [a, b];
}
