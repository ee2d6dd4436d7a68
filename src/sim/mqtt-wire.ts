// The embedded broker's wire layer on top of mqtt-packet (broker.ts): a framer that checks the size
// bound on the fixed header before buffering a body, a decoder that accepts a packet only when
// mqtt-packet would generate exactly the bytes received (refusing leftover bytes, over-long length
// encodings and malformed UTF-8, which mqtt-packet alone lets through), and the field checks
// MQTT 3.1.1 asks of a server. Every refusal is a DecodeError; the broker closes that connection.

import { generate, parser as mqttParser, type Packet, type Parser } from 'mqtt-packet';
import { CommonCode, DecodeError } from '../lib/errors.js';
import { isTopicFilter } from '../lib/mqtt-topics.js';

/** The largest packet accepted, fixed header included; a longer one is refused on its header. */
export const MAX_PACKET = 256 * 1024;
/** §3.1.2.1-2: a 3.1.1 CONNECT's variable header opens with the protocol name "MQTT", then level 4. */
const PROTOCOL_NAME = Buffer.from([0, 4, 0x4d, 0x51, 0x54, 0x54]);
export const LEVEL_311 = 4;

export const bad = (code: CommonCode, msg: string, cause?: unknown): DecodeError<CommonCode> =>
  new DecodeError(code, `mqtt: ${msg}`, cause === undefined ? undefined : { cause });

/**
 * Cuts the byte stream into whole packets for mqtt-packet, which would buffer whatever length a
 * fixed header announces: the size bound is checked here, on the header, before the body is
 * buffered. §2.2.3: at most four remaining-length bytes. Chunks are joined once per packet, not
 * once per chunk, so a packet dripping in byte by byte costs linear time.
 */
export class Framer {
  private chunks: Buffer[] = [];
  private size = 0;

  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.size += chunk.length;
    const out: Buffer[] = [];
    for (let total = this.frameLength(); total !== undefined && this.size >= total; total = this.frameLength()) {
      const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.size);
      out.push(Buffer.from(all.subarray(0, total))); // a copy: a retained payload must not pin the socket's chunk
      const rest = all.subarray(total);
      this.chunks = rest.length > 0 ? [rest] : [];
      this.size = rest.length;
    }
    return out;
  }

  /** The length of the packet at the head of the buffer; undefined while its header is incomplete. */
  private frameLength(): number | undefined {
    if (this.chunks.length > 1 && this.chunks[0]!.length < 5) this.chunks = [Buffer.concat(this.chunks, this.size)];
    const head = this.chunks[0];
    if (head === undefined) return undefined;
    let length = 0;
    for (let i = 0; i < 4; i++) {
      const b = head[1 + i];
      if (b === undefined) return undefined;
      length += (b & 0x7f) * 128 ** i;
      if ((b & 0x80) === 0) {
        const total = 2 + i + length;
        if (total > MAX_PACKET) throw bad(CommonCode.DECODE_LENGTH, `packet of ${total} bytes exceeds the limit of ${MAX_PACKET}`);
        return total;
      }
    }
    throw bad(CommonCode.DECODE_LENGTH, 'remaining length longer than four bytes (§2.2.3)');
  }
}

/** mqtt-packet's parser, fed one whole frame at a time. */
export class Decoder {
  private readonly parser: Parser = mqttParser({ protocolVersion: LEVEL_311 });
  private packets: Packet[] = [];
  private error: unknown;

  constructor() {
    this.parser.on('packet', (p) => this.packets.push(p));
    this.parser.on('error', (e) => (this.error = e));
  }

  decode(frame: Buffer): Packet {
    this.packets = [];
    this.error = undefined;
    try {
      this.parser.parse(frame);
    } catch (e) {
      this.error = e;
    }
    if (this.error !== undefined) throw bad(CommonCode.DECODE_VALUE, `malformed packet type ${frame[0]! >> 4}: ${String(this.error)}`, this.error);
    const p = this.packets[0];
    if (p === undefined || this.packets.length !== 1) throw bad(CommonCode.DECODE_TRUNCATED, `packet type ${frame[0]! >> 4} did not parse to one packet`);
    return p;
  }
}

/**
 * mqtt-packet is lenient where the spec is not: it ignores bytes left over inside a packet, accepts
 * a non-minimal remaining length (§2.2.3) and decodes malformed UTF-8 to U+FFFD (§1.5.3). So a
 * packet is accepted only if mqtt-packet generates it back to the very bytes received: that one
 * comparison refuses all three.
 */
export function checkCanonical(p: Packet, frame: Buffer): void {
  let again: Buffer;
  try {
    again = generate(p, { protocolVersion: LEVEL_311 });
  } catch (e) {
    throw bad(CommonCode.DECODE_VALUE, `packet type ${frame[0]! >> 4}: ${String(e)}`, e);
  }
  if (!again.equals(frame)) throw bad(CommonCode.DECODE_VALUE, `packet type ${frame[0]! >> 4}: trailing bytes, a non-minimal length or malformed UTF-8`);
}

/** The protocol level of a CONNECT frame, once its protocol name is checked (§3.1.2.1). */
export function connectLevel(frame: Buffer): number {
  let at = 1;
  while (at < 5 && (frame[at]! & 0x80) !== 0) at++;
  const body = frame.subarray(at + 1);
  if (body.length < PROTOCOL_NAME.length + 1) throw bad(CommonCode.DECODE_TRUNCATED, 'CONNECT shorter than its variable header');
  if (!body.subarray(0, PROTOCOL_NAME.length).equals(PROTOCOL_NAME)) throw bad(CommonCode.DECODE_VALUE, 'protocol name is not "MQTT" (§3.1.2.1)');
  return body[PROTOCOL_NAME.length]!;
}

export function packetId(id: number | undefined): number {
  if (id === undefined || id < 1 || id > 0xffff) throw bad(CommonCode.DECODE_VALUE, `packet identifier ${id} (§2.3.1)`);
  return id;
}

export function noNul(s: string, what: string): void {
  if (s.includes('\u0000')) throw bad(CommonCode.DECODE_VALUE, `${what} contains U+0000 (§1.5.3)`);
}

/** §3.8.3-3, §3.10.3-2: at least one filter, each valid (§4.7.1); else the connection is closed. */
export function filters(list: readonly string[]): readonly string[] {
  if (list.length === 0) throw bad(CommonCode.DECODE_TRUNCATED, 'no topic filter (§3.8.3-3, §3.10.3-2)');
  for (const f of list) if (!isTopicFilter(f)) throw bad(CommonCode.DECODE_VALUE, `invalid topic filter ${JSON.stringify(f)} (§4.7.1)`);
  return list;
}
