// Incoming PUBLISH payloads over a bound are dropped as their bytes arrive, before mqtt.js sees them.
//
// mqtt-packet gathers a whole packet before mqtt.js hands it on (a PUBLISH may be 256 MB), and the
// payload was copied twice more on its way to the consumer, which then dropped it as over
// max_payload_bytes: one 200 MB message cost ~600 MB of RSS. PublishLimit sits between the socket
// (any transport's stream: mqtt-connect.ts) and mqtt.js's parser and reads the MQTT framing
// (§2.2: fixed header, remaining length): every packet passes unchanged, except a PUBLISH whose
// payload is over the bound, which passes as the same PUBLISH (flags, topic, packet id, MQTT 5
// properties) with an empty payload, its payload bytes discarded as they come. mqtt.js then
// acknowledges it as usual, and `publishes` tells the link which PUBLISH was cut (one entry per
// PUBLISH, in the order mqtt.js will parse them).
// A variable header over VARIABLE_HEADER_MAX (MQTT 5 properties can be large) is not parsed: that
// packet passes whole, as before.
//
// The same place holds a PUBLISH back while the link has no room for it (PublishRoom, given by
// the receive side: mqtt-receive.ts): its first byte is passed on only once room.admit() says so,
// and until then nothing more of the stream is read: the chunk waits here with its write callback,
// so the socket stops being read (TCP backpressure) and the broker stops sending; tryAgain() asks
// once more. This bounds the bytes of held QoS >= 1 messages, which nothing else bounds (a broker's
// in-flight window counts messages, not bytes).

import { Transform, type Duplex, type TransformCallback } from 'node:stream';

/** A topic (at most 65,535 bytes) and its length, a packet id, and room for MQTT 5 properties. */
export const VARIABLE_HEADER_MAX = 128 * 1024;
const PUBLISH = 3;

/** Whether the next PUBLISH may reach mqtt.js now. */
export interface PublishRoom {
  /**
   * A PUBLISH at `qos` whose `bytes` (after its fixed header, as it will reach mqtt.js: without a
   * payload over the bound) come next: true lets it pass (and counts it as passed), false holds
   * the stream until tryAgain(). Called once per PUBLISH passed on, in order, and again after each
   * tryAgain() while it says false.
   */
  admit(qos: number, bytes: number): boolean;
}

const ALWAYS: PublishRoom = { admit: () => true };

/** A PUBLISH read up to the point where its bytes would be passed on, waiting for room.admit(). */
interface Admission {
  readonly qos: number;
  readonly bytes: number;
  /** Passes it on and sets the mode for the rest of the packet. */
  readonly go: () => void;
}

export class PublishLimit extends Transform {
  /** One entry per PUBLISH passed on, in order: null when whole, else the payload bytes dropped. */
  readonly publishes: (number | null)[] = [];
  private mode: 'head' | 'varhead' | 'admit' | 'pass' | 'drop' = 'head';
  /** The fixed header read so far (type and flags, remaining length). */
  private head: number[] = [];
  /** Bytes of the current packet after its fixed header, not yet passed on or dropped. */
  private left = 0;
  /** The start of a large PUBLISH's rest, gathered until its variable header is complete. */
  private varhead = Buffer.alloc(0);
  private varheadBytes = 0;
  /** Mode 'admit': the PUBLISH waiting for room. */
  private admission: Admission | null = null;
  /** Where the stream stopped for room: the rest of a chunk and its write callback. */
  private stopped: { readonly chunk: Buffer; readonly at: number; readonly done: TransformCallback } | null = null;

  constructor(
    private readonly maxPayloadBytes: number,
    private readonly protocolVersion: 4 | 5,
    private readonly room: PublishRoom = ALWAYS,
  ) {
    super();
  }

  /** True while a PUBLISH waits for room (nothing more is read until tryAgain() lets it pass). */
  get heldBack(): boolean {
    return this.stopped !== null;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.run(chunk, 0, done);
  }

  /** Asks room.admit() again for the PUBLISH waiting, and goes on with the stream if it passes. */
  tryAgain(): void {
    const s = this.stopped;
    if (s === null || this.destroyed) return;
    this.stopped = null;
    this.run(s.chunk, s.at, s.done);
  }

  private run(chunk: Buffer, at: number, done: TransformCallback): void {
    // A PUBLISH whose header ends the chunk is admitted (or not) before the next chunk is asked for.
    while (at < chunk.length || this.mode === 'admit') {
      if (this.mode === 'admit') {
        const a = this.admission!;
        if (!this.room.admit(a.qos, a.bytes)) return void (this.stopped = { chunk, at, done });
        this.admission = null;
        a.go();
      } else if (this.mode === 'head') at = this.readHead(chunk, at);
      else if (this.mode === 'varhead') at = this.readVarhead(chunk, at);
      else {
        const n = Math.min(this.left, chunk.length - at);
        if (this.mode === 'pass') this.push(chunk.subarray(at, at + n));
        at += n;
        this.left -= n;
        if (this.left === 0) this.mode = 'head';
      }
    }
    done();
  }

  private readHead(chunk: Buffer, at: number): number {
    const b = chunk[at]!;
    this.head.push(b);
    at++;
    if (this.head.length === 1 || (b & 0x80) !== 0) {
      if (this.head.length < 5) return at;
      // A fifth length byte is malformed (§2.2.3): pass the rest untouched, mqtt.js refuses it.
      this.push(Buffer.from(this.head));
      return this.passRest(Number.MAX_SAFE_INTEGER, at);
    }
    let remaining = 0;
    for (let i = this.head.length - 1; i >= 1; i--) remaining = remaining * 128 + (this.head[i]! & 0x7f);
    const publish = this.head[0]! >> 4 === PUBLISH;
    if (publish && remaining > this.maxPayloadBytes) {
      [this.mode, this.left, this.varhead, this.varheadBytes] = ['varhead', remaining, Buffer.allocUnsafe(Math.min(remaining, VARIABLE_HEADER_MAX)), 0];
      return at;
    }
    const head = Buffer.from(this.head);
    if (publish) {
      return this.admit(remaining, at, () => {
        this.publishes.push(null);
        this.push(head);
        this.passRest(remaining, 0);
      });
    }
    this.push(head);
    return this.passRest(remaining, at);
  }

  private readVarhead(chunk: Buffer, at: number): number {
    const n = Math.min(this.varhead.length - this.varheadBytes, chunk.length - at);
    chunk.copy(this.varhead, this.varheadBytes, at, at + n);
    this.varheadBytes += n;
    at += n;
    const got = this.varhead.subarray(0, this.varheadBytes);
    const length = variableHeaderLength(got, (this.head[0]! >> 1) & 3, this.protocolVersion);
    const complete = length !== undefined && length <= got.length;
    if (!complete && got.length < this.varhead.length) return at; // more to come
    const rest = this.left - got.length;
    const head = this.head;
    this.varhead = Buffer.alloc(0);
    if (!complete || this.left - length! <= this.maxPayloadBytes) {
      // Not parsed (malformed or too large a header), or the payload is within the bound: whole.
      return this.admit(this.left, at, () => {
        this.publishes.push(null);
        this.push(Buffer.from(head));
        this.push(got);
        this.passRest(rest, 0);
      });
    }
    // The same PUBLISH without its payload; what of the payload came with the header is dropped.
    const dropped = this.left - length!;
    return this.admit(length!, at, () => {
      this.publishes.push(dropped);
      this.push(Buffer.concat([Buffer.of(head[0]!), remainingLength(length!), got.subarray(0, length!)]));
      [this.mode, this.left, this.head] = [rest > 0 ? 'drop' : 'head', rest, []];
    });
  }

  /** The PUBLISH whose fixed header is this.head and whose `bytes` follow it waits for room.admit(). */
  private admit(bytes: number, at: number, go: () => void): number {
    this.admission = { qos: (this.head[0]! >> 1) & 3, bytes, go };
    this.mode = 'admit';
    return at;
  }

  private passRest(bytes: number, at: number): number {
    [this.mode, this.left, this.head] = [bytes > 0 ? 'pass' : 'head', bytes, []];
    return at;
  }
}

/**
 * A PUBLISH's variable header length (§3.3.2: topic, packet id when QoS > 0, MQTT 5 properties),
 * or undefined while `b` does not hold enough of it to tell.
 */
export function variableHeaderLength(b: Buffer, qos: number, protocolVersion: 4 | 5): number | undefined {
  if (b.length < 2) return undefined;
  const afterId = 2 + b.readUInt16BE(0) + (qos > 0 ? 2 : 0);
  if (protocolVersion === 4) return afterId;
  let props = 0;
  for (let i = 0; i < 4; i++) {
    const x = b[afterId + i];
    if (x === undefined) return undefined;
    props += (x & 0x7f) * 128 ** i;
    if ((x & 0x80) === 0) return afterId + i + 1 + props;
  }
  return Number.MAX_SAFE_INTEGER; // malformed: never complete, the packet passes whole
}

function remainingLength(n: number): Buffer {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return Buffer.from(out);
}

/**
 * Puts `limit` between `socket` and whoever pipes it (mqtt.js pipes its stream into its parser and
 * reads it no other way); writes, events and destroy() stay the socket's own.
 */
export function limitIncomingPublishes<S extends Duplex>(socket: S, limit: PublishLimit): S {
  const pipe = socket.pipe.bind(socket);
  socket.pipe = ((dest: NodeJS.WritableStream, opts?: { end?: boolean }) => {
    pipe(limit);
    return limit.pipe(dest, opts);
  }) as S['pipe'];
  return socket;
}
