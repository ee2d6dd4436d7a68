// The embedded broker's MQTT 3.1.1 codec: byte vectors worked out from the OASIS spec, round trips,
// canonical re-encoding of everything accepted, and junk/mutated input that may only ever raise a
// DecodeError.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodePacket, encodePacket, PacketSplitter, readRemainingLength, type MqttPacket } from '../../src/demo/mqtt/codec.js';
import { fromHex, toHex } from '../../src/uzp/bytes.js';
import { DecodeError } from '../../src/uzp/errors.js';
import { codeOf } from '../helpers/errors.js';

const level = fc.oneof(fc.stringMatching(/^[a-z0-9_$ -]{1,6}$/), fc.constantFrom('°C', 'é', 'telemetry', ''));
const topicName = fc.array(level, { minLength: 1, maxLength: 4 }).map((l) => l.join('/')).filter((t) => t.length > 0);
const topicFilter = fc
  .tuple(fc.array(fc.oneof(level, fc.constant('+')), { minLength: 1, maxLength: 4 }), fc.boolean())
  .map(([l, hash]) => [...l, ...(hash ? ['#'] : [])].join('/'))
  .filter((f) => f.length > 0);
const text = fc.string({ maxLength: 20 }).filter((s) => !s.includes('\u0000'));
const packetId = fc.integer({ min: 1, max: 0xffff });
const bytes = fc.uint8Array({ maxLength: 64 });

const connectArb = fc
  .record(
    {
      level: fc.integer({ min: 0, max: 255 }),
      clientId: text,
      keepalive: fc.integer({ min: 0, max: 0xffff }),
      cleanSession: fc.boolean(),
      will: fc.record({ topic: topicName, payload: bytes, qos: fc.constantFrom(0 as const, 1 as const, 2 as const), retain: fc.boolean() }),
      username: text,
      password: bytes,
    },
    { requiredKeys: ['level', 'clientId', 'keepalive', 'cleanSession'] },
  )
  .filter((c) => c.password === undefined || c.username !== undefined)
  .map((c) => ({ type: 'connect' as const, ...c }));

export const packetArb: fc.Arbitrary<MqttPacket> = fc.oneof(
  connectArb,
  fc.record({ type: fc.constant('connack' as const), sessionPresent: fc.boolean(), returnCode: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ type: fc.constant('publish' as const), topic: topicName, payload: bytes, qos: fc.constant(0 as const), retain: fc.boolean(), dup: fc.constant(false) }),
  fc.record({ type: fc.constant('publish' as const), topic: topicName, payload: bytes, qos: fc.constant(1 as const), retain: fc.boolean(), dup: fc.boolean(), id: packetId }),
  fc.record({ type: fc.constantFrom('puback' as const, 'unsuback' as const), id: packetId }),
  fc.record({ type: fc.constant('subscribe' as const), id: packetId, subscriptions: fc.array(fc.record({ filter: topicFilter, qos: fc.constantFrom(0 as const, 1 as const, 2 as const) }), { minLength: 1, maxLength: 4 }) }),
  fc.record({ type: fc.constant('suback' as const), id: packetId, granted: fc.array(fc.constantFrom(0, 1, 2, 0x80), { minLength: 1, maxLength: 4 }) }),
  fc.record({ type: fc.constant('unsubscribe' as const), id: packetId, filters: fc.array(topicFilter, { minLength: 1, maxLength: 4 }) }),
  fc.constantFrom<MqttPacket>({ type: 'pingreq' }, { type: 'pingresp' }, { type: 'disconnect' }),
);

/** Decodes or throws; anything but a DecodeError fails the test. */
function decodeOrDecodeError(b: Uint8Array): MqttPacket | undefined {
  try {
    return decodePacket(b);
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e;
    return undefined;
  }
}

describe('MQTT 3.1.1 codec: vectors', () => {
  it('remaining length, the examples of §2.2.3 (Table 2.4)', () => {
    const cases: [number, string][] = [
      [0, '00'],
      [127, '7f'],
      [128, '8001'],
      [16_383, 'ff7f'],
      [16_384, '808001'],
      [2_097_151, 'ffff7f'],
      [2_097_152, '80808001'],
      [268_435_455, 'ffffff7f'],
    ];
    for (const [n, hex] of cases) expect(readRemainingLength(fromHex(hex), 0)).toEqual({ length: n, bytes: hex.length / 2 });
    expect(codeOf(() => readRemainingLength(fromHex('ffffffff7f'), 0))).toBe('DECODE_LENGTH'); // a fifth byte
    expect(codeOf(() => readRemainingLength(fromHex('8000'), 0))).toBe('DECODE_VALUE'); // 0 in two bytes
    expect(readRemainingLength(fromHex('80'), 0)).toBeUndefined(); // more bytes needed
  });

  it('fixed packets and small ones, byte for byte', () => {
    const cases: [MqttPacket, string][] = [
      [{ type: 'pingreq' }, 'c000'],
      [{ type: 'pingresp' }, 'd000'],
      [{ type: 'disconnect' }, 'e000'],
      [{ type: 'connack', sessionPresent: false, returnCode: 0 }, '20020000'],
      [{ type: 'connack', sessionPresent: false, returnCode: 1 }, '20020001'],
      [{ type: 'puback', id: 10 }, '4002000a'],
      [{ type: 'unsuback', id: 0x1234 }, 'b0021234'],
      // SUBSCRIBE fixed header 0x82 (type 8, reserved flags 0010), id 1, "a/b" QoS 1
      [{ type: 'subscribe', id: 1, subscriptions: [{ filter: 'a/b', qos: 1 }] }, '82080001000361' + '2f6201'],
      [{ type: 'suback', id: 1, granted: [1, 0x80] }, '9004000101' + '80'],
      // PUBLISH QoS 1, retain: 0x33; topic "t", id 2, payload "hi"
      [{ type: 'publish', topic: 't', payload: new TextEncoder().encode('hi'), qos: 1, retain: true, dup: false, id: 2 }, '3307000174' + '00026869'],
      // PUBLISH QoS 0: no packet identifier
      [{ type: 'publish', topic: 'a/b', payload: new Uint8Array([0]), qos: 0, retain: false, dup: false }, '3006000361' + '2f6200'],
    ];
    for (const [p, hex] of cases) {
      expect(toHex(encodePacket(p))).toBe(hex);
      expect(decodePacket(fromHex(hex))).toEqual(p);
    }
  });

  it('CONNECT as mqtt.js sends it (protocol "MQTT", level 4, clean session, keep-alive 60, id "c1")', () => {
    const hex = '100e' + '00044d515454' + '04' + '02' + '003c' + '00026331';
    expect(decodePacket(fromHex(hex))).toEqual({ type: 'connect', level: 4, clientId: 'c1', keepalive: 60, cleanSession: true });
    expect(toHex(encodePacket(decodePacket(fromHex(hex))))).toBe(hex);
  });

  it('refuses what the spec calls malformed', () => {
    const cases: [string, string, string][] = [
      ['83080001000361' + '2f6201', 'DECODE_VALUE', 'SUBSCRIBE with reserved flags 0011 (§2.2.2)'],
      ['820200' + '01', 'DECODE_TRUNCATED', 'SUBSCRIBE without a filter (§3.8.3)'],
      ['820800010003612f6203', 'DECODE_VALUE', 'requested QoS 3'],
      ['820800010003612b6201', 'DECODE_VALUE', 'filter "a+b" (§4.7.1)'],
      ['3806000361' + '2f6200', 'DECODE_VALUE', 'QoS 0 with DUP (§3.3.1.1)'],
      ['3606000361' + '2f6200', 'DECODE_VALUE', 'QoS 3'],
      ['3406000361' + '2f6200', 'DECODE_TYPE', 'QoS 2 (not supported)'],
      ['3006000361' + '2f2b00', 'DECODE_VALUE', 'topic name with a wildcard (§3.3.2.1)'],
      ['4002' + '0000', 'DECODE_VALUE', 'packet identifier 0 (§2.3.1)'],
      ['5002' + '0001', 'DECODE_TYPE', 'PUBREC (QoS 2 flow)'],
      ['f000', 'DECODE_TYPE', 'reserved type 15'],
      ['c001' + '00', 'DECODE_TRAILING', 'PINGREQ with a body'],
      ['c000' + '00', 'DECODE_TRAILING', 'bytes after the packet'],
      ['4002' + '00', 'DECODE_TRUNCATED', 'cut short'],
      ['100e' + '00044d515453' + '04' + '02' + '003c' + '00026331', 'DECODE_VALUE', 'protocol name "MQTS"'],
      ['100e' + '00044d515454' + '04' + '03' + '003c' + '00026331', 'DECODE_VALUE', 'reserved connect flag (§3.1.2.3)'],
      ['100e' + '00044d515454' + '04' + '42' + '003c' + '00026331', 'DECODE_VALUE', 'password without user name (§3.1.2.9)'],
      ['100e' + '00044d515454' + '04' + '0a' + '003c' + '00026331', 'DECODE_VALUE', 'will QoS without a will (§3.1.2.6)'],
      ['100e' + '00044d515454' + '04' + '02' + '003c' + '00026300', 'DECODE_VALUE', 'client id with U+0000 (§1.5.3)'],
      ['100e' + '00044d515454' + '04' + '02' + '003c' + '0002c328', 'DECODE_VALUE', 'client id not UTF-8'],
    ];
    for (const [hex, code, what] of cases) expect(codeOf(() => decodePacket(fromHex(hex))), what).toBe(code);
  });
});

describe('MQTT 3.1.1 codec: properties', () => {
  it('decode(encode(p)) = p', () => {
    fc.assert(
      fc.property(packetArb, (p) => {
        expect(decodePacket(encodePacket(p))).toEqual(p);
      }),
      { numRuns: 2000 },
    );
  });

  it('the splitter cuts any chunking of a packet stream into the same packets', () => {
    fc.assert(
      fc.property(fc.array(packetArb, { minLength: 1, maxLength: 8 }), fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1 }), (packets, cuts) => {
        const stream = Buffer.concat(packets.map((p) => encodePacket(p)));
        const s = new PacketSplitter(1 << 20);
        const got: MqttPacket[] = [];
        let off = 0;
        for (let i = 0; off < stream.length; i++) {
          const n = cuts[i % cuts.length]!;
          for (const f of s.push(new Uint8Array(stream.subarray(off, off + n)))) got.push(decodePacket(f));
          off += n;
        }
        expect(got).toEqual(packets);
      }),
      { numRuns: 300 },
    );
  });

  it('the splitter refuses a packet announcing more than its limit before buffering it', () => {
    const s = new PacketSplitter(100);
    expect(codeOf(() => s.push(fromHex('30ffff7f')))).toBe('DECODE_LENGTH');
  });
});

describe('MQTT 3.1.1 codec: junk', () => {
  it('10,000 random byte strings: only DecodeError, and whatever decodes re-encodes to the same bytes', () => {
    let decoded = 0;
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), fc.integer({ min: 0, max: 15 }), (junk, type) => {
        // Half of them get a plausible first byte and length, so the body parsers are reached too.
        const b = junk.length >= 2 && type % 2 === 0 ? Uint8Array.from([junk[0]!, junk.length - 2, ...junk.subarray(2)]) : junk;
        const p = decodeOrDecodeError(b);
        if (p !== undefined) {
          decoded++;
          expect(toHex(encodePacket(p))).toBe(toHex(b));
        }
      }),
      { numRuns: 10_000 },
    );
    expect(decoded).toBeGreaterThan(0); // the property above was exercised, not vacuous
  });

  it('10,000 mutated valid packets: only DecodeError, canonical re-encoding, splitter never throws anything else', () => {
    fc.assert(
      fc.property(packetArb, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 3 }), fc.integer({ min: -3, max: 3 }), (p, flips, resize) => {
        const good = encodePacket(p);
        const b = new Uint8Array(Math.max(0, good.length + resize));
        b.set(good.subarray(0, b.length));
        for (const [at, mask] of flips) if (b.length > 0) b[at % b.length]! ^= mask;
        const q = decodeOrDecodeError(b);
        if (q !== undefined) expect(toHex(encodePacket(q))).toBe(toHex(b));
        try {
          new PacketSplitter(4096).push(b);
        } catch (e) {
          expect(e).toBeInstanceOf(DecodeError);
        }
      }),
      { numRuns: 10_000 },
    );
  });
});
