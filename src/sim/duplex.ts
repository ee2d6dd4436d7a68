// The one surface every simulator needs from "a wire": write bytes, hear bytes. A SerialPort on a
// PTY path, a memory-serial end and a Node socket all satisfy it, so a simulator runs unchanged over
// a real tty (the HIL tests), an in-memory pair (the demo's fallback) or a pacer's far end.

/** A byte duplex: `write` sends, `'data'` events receive. Structural, so SerialPort fits as is. */
export interface ByteDuplex {
  write(chunk: Uint8Array): unknown;
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  off(event: 'data', listener: (chunk: Buffer) => void): unknown;
  /** Flow control, when the transport has it (Readable streams do): the pacer's backpressure. */
  pause?(): unknown;
  resume?(): unknown;
}

/** Subscribes `fn` to `d`'s bytes; returns the unsubscribe function. */
export function listen(d: ByteDuplex, fn: (chunk: Uint8Array) => void): () => void {
  const l = (chunk: Buffer): void => fn(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  d.on('data', l);
  return () => {
    d.off('data', l);
  };
}
