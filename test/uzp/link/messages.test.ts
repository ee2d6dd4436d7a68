import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../../src/uzp/bytes.js';
import { ControlKind, MAX_ATTEST_EVIDENCE_BYTES, MAX_PCERT_BYTES } from '../../../src/uzp/link/constants.js';
import { decodeControl, encodeControl, type ControlMessage } from '../../../src/uzp/link/control.js';
import {
  AUTH_SEALED_MAX,
  AUTH_SEALED_MIN,
  decodeAuthInner,
  decodeHello,
  decodeHelloR,
  decodeHelloRInner,
  decodeOkInner,
  decodeRefused,
  decodeRelay,
  decodeSealed,
  encodeAuthInner,
  encodeHello,
  encodeHelloR,
  encodeHelloRInner,
  encodeOkInner,
  encodeRefused,
  encodeRelay,
} from '../../../src/uzp/link/messages.js';
import { CodedError, DecodeError } from '../../../src/lib/errors.js';

interface Vec {
  name: string;
  fields: Record<string, string | number>;
  hex: string;
}
const vectors = JSON.parse(readFileSync(new URL('../../vectors/link.json', import.meta.url), 'utf8')) as { messages: Vec[]; controls: Vec[] };

const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const u16 = fc.integer({ min: 0, max: 0xffff });

/** Every codec under test: encode, decode, a fast-check generator and an equality view. */
const codecs: { name: string; encode: (v: never) => Uint8Array; decode: (b: Uint8Array) => unknown; arb: fc.Arbitrary<unknown> }[] = [
  { name: 'HELLO', encode: encodeHello as never, decode: decodeHello, arb: fc.record({ version: fc.constant(1), ephEp: bytes(32), nonceEp: bytes(32) }) },
  { name: 'HELLO_R', encode: encodeHelloR as never, decode: decodeHelloR, arb: fc.record({ ephRn: bytes(32), nonceRn: bytes(32), sealed: bytes(112) }) },
  { name: 'HELLO_R inner', encode: encodeHelloRInner as never, decode: decodeHelloRInner, arb: fc.record({ rnPublicKey: bytes(32), sigRn: bytes(64) }) },
  { name: 'AUTH inner', encode: encodeAuthInner as never, decode: decodeAuthInner, arb: fc.record({ pcert: fc.uint8Array({ maxLength: 600 }), sigEp: bytes(64) }) },
  { name: 'OK inner', encode: encodeOkInner as never, decode: decodeOkInner, arb: fc.record({ maxFrame: u32, keepaliveMs: u32 }) },
  { name: 'REFUSED', encode: encodeRefused as never, decode: decodeRefused, arb: u16 },
  { name: 'RELAY', encode: encodeRelay as never, decode: decodeRelay, arb: fc.record({ stitchId: u32, payload: fc.uint8Array({ maxLength: 300 }) }) },
];

const cid = bytes(32);
const vec = fc.uint8Array({ maxLength: 400 });
const controlArb: fc.Arbitrary<ControlMessage> = fc.oneof(
  fc.constant({ kind: ControlKind.ACCEPT } as const),
  fc.record({ kind: fc.constant(ControlKind.JOIN), joinId: u32, target: cid, grant: vec, ch1: vec }),
  fc.record({ kind: fc.constant(ControlKind.OFFER), stitchId: u32, initiator: cid, grant: vec, ch1: vec }),
  fc.record({ kind: fc.constant(ControlKind.JOINED), joinId: u32, stitchId: u32 }),
  fc.record({ kind: fc.constant(ControlKind.JOIN_REFUSED), joinId: u32, code: u16 }),
  fc.record({ kind: fc.constant(ControlKind.UNSTITCH), stitchId: u32, code: u16 }),
  fc.record({ kind: fc.constant(ControlKind.REJECT_OFFER), stitchId: u32 }),
  fc.record({ kind: fc.constant(ControlKind.PING), nonce: fc.maxSafeNat() }),
  fc.record({ kind: fc.constant(ControlKind.PONG), nonce: fc.maxSafeNat() }),
  fc.record({ kind: fc.constant(ControlKind.ATTEST), evidence: fc.uint8Array({ maxLength: 2000 }) }),
  fc.record({ kind: fc.constant(ControlKind.DRAIN), deadlineMs: u32 }),
  fc.record({ kind: fc.constant(ControlKind.ARTEFACT), artefact: fc.uint8Array({ maxLength: 2000 }) }),
  fc.record({ kind: fc.constant(ControlKind.OFFER_VIA), stitchId: u32, initiator: cid, via: cid, grant: vec, ch1: vec }),
);

/** Mutations of valid encodings plus pure noise: the inputs junk tests feed decoders. */
function junk(valid: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    fc.uint8Array({ maxLength: 200 }),
    fc.tuple(valid, fc.nat(), fc.integer({ min: 0, max: 255 })).map(([b, i, x]) => {
      const c = b.slice();
      if (c.length > 0) c[i % c.length] = x;
      return c;
    }),
    fc.tuple(valid, fc.nat()).map(([b, n]) => b.subarray(0, n % (b.length + 1))),
    fc.tuple(valid, fc.uint8Array({ minLength: 1, maxLength: 8 })).map(([b, t]) => Uint8Array.from([...b, ...t])),
  );
}

function onlyTypedErrors(decode: (b: Uint8Array) => unknown, input: Uint8Array): void {
  try {
    decode(input);
  } catch (e) {
    expect(e).toBeInstanceOf(CodedError);
    expect(e).toBeInstanceOf(DecodeError);
  }
}

const hexify = (v: unknown): unknown =>
  v instanceof Uint8Array ? toHex(v) : v !== null && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, hexify(x)])) : v;

/** The vectors use the profile's field names (docs/PROFILE.md tables): ephEp -> eph_ep, stitchId -> stitch_id. */
const wireNames = (v: unknown): unknown =>
  v !== null && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase()), x])) : v;

describe('link attachment message codecs', () => {
  it('match the checked-in vectors (encode and decode)', () => {
    const byName = Object.fromEntries(codecs.map((c) => [c.name, c]));
    expect(vectors.messages.length).toBe(codecs.length);
    for (const v of vectors.messages) {
      const c = byName[v.name];
      expect(c, v.name).toBeDefined();
      const decoded = c!.decode(fromHex(v.hex));
      expect(toHex(c!.encode(decoded as never)), v.name).toBe(v.hex);
      // REFUSED decodes to its bare code; every other message to an object of its fields
      expect(wireNames(hexify(typeof decoded === 'number' ? { code: decoded } : decoded)), v.name).toEqual(v.fields);
    }
    expect(hexify(decodeHello(fromHex(vectors.messages[0]!.hex)))).toEqual({
      version: 1,
      ephEp: vectors.messages[0]!.fields.eph_ep,
      nonceEp: vectors.messages[0]!.fields.nonce_ep,
    });
    expect(decodeOkInner(fromHex(vectors.messages.find((m) => m.name === 'OK inner')!.hex))).toEqual({ maxFrame: 262144, keepaliveMs: 10000 });
  });

  for (const c of codecs) {
    it(`${c.name}: encode/decode round trip (property)`, () => {
      fc.assert(
        fc.property(c.arb, (v) => {
          const enc = c.encode(v as never);
          expect(hexify(c.decode(enc))).toEqual(hexify(v));
        }),
      );
    });

    it(`${c.name}: 10,000 junk and mutated inputs throw only DecodeError`, () => {
      fc.assert(
        fc.property(
          junk(c.arb.map((v) => c.encode(v as never))),
          (b) => onlyTypedErrors(c.decode, b),
        ),
        { numRuns: 10_000 },
      );
    });

    it(`${c.name}: rejects trailing bytes`, () => {
      if (c.name === 'RELAY') return; // RELAY's payload is the rest of the frame by definition
      const [v] = fc.sample(c.arb, { numRuns: 1, seed: 42 });
      const enc = c.encode(v as never);
      expect(() => c.decode(Uint8Array.from([...enc, 0]))).toThrow(DecodeError);
    });
  }

  it('HELLO refuses another version before reading on', () => {
    const b = encodeHello({ version: 1, ephEp: new Uint8Array(32), nonceEp: new Uint8Array(32) });
    b[0] = 2;
    expect(() => decodeHello(b)).toThrow(/unsupported link version 2/);
  });

  it('AUTH inner refuses a PCert length above the cap without reading it', () => {
    const b = new Uint8Array(4 + 64);
    new DataView(b.buffer).setUint32(0, MAX_PCERT_BYTES + 1);
    expect(() => decodeAuthInner(b)).toThrow(/exceeds/);
  });

  it('sealed parts are size-checked before any opening', () => {
    expect(() => decodeSealed(new Uint8Array(AUTH_SEALED_MIN - 1), AUTH_SEALED_MIN, AUTH_SEALED_MAX, 'AUTH')).toThrow(DecodeError);
    expect(() => decodeSealed(new Uint8Array(AUTH_SEALED_MAX + 1), AUTH_SEALED_MIN, AUTH_SEALED_MAX, 'AUTH')).toThrow(DecodeError);
    expect(decodeSealed(new Uint8Array(AUTH_SEALED_MIN), AUTH_SEALED_MIN, AUTH_SEALED_MAX, 'AUTH')).toHaveLength(AUTH_SEALED_MIN);
  });
});

describe('link control message codecs', () => {
  it('match the checked-in vectors', () => {
    expect(vectors.controls.map((v) => v.name)).toEqual(['ACCEPT', 'JOIN', 'OFFER', 'JOINED', 'JOIN_REFUSED', 'UNSTITCH', 'REJECT_OFFER', 'PING', 'PONG', 'ATTEST', 'DRAIN', 'ARTEFACT', 'OFFER_VIA']);
    for (const v of vectors.controls) {
      const m = decodeControl(fromHex(v.hex));
      expect(wireNames(hexify(m)), v.name).toEqual(v.fields);
      expect(toHex(encodeControl(m)), v.name).toBe(v.hex);
    }
  });

  it('round trip (property)', () => {
    fc.assert(
      fc.property(controlArb, (m) => {
        expect(hexify(decodeControl(encodeControl(m)))).toEqual(hexify(m));
      }),
    );
  });

  it('rejects trailing bytes and unknown kinds', () => {
    fc.assert(
      fc.property(controlArb, (m) => {
        const enc = encodeControl(m);
        expect(() => decodeControl(Uint8Array.from([...enc, 1]))).toThrow(DecodeError);
      }),
      { numRuns: 200 },
    );
    expect(() => decodeControl(Uint8Array.of(0x7f))).toThrow(/unknown kind 0x7f/);
    expect(() => decodeControl(new Uint8Array(0))).toThrow(DecodeError);
  });

  it('ATTEST: evidence up to 64 KiB round-trips; longer is refused by the encoder and, from the length alone, by the decoder', () => {
    expect(MAX_ATTEST_EVIDENCE_BYTES).toBe(64 * 1024);
    const max = new Uint8Array(MAX_ATTEST_EVIDENCE_BYTES).fill(7);
    const m = decodeControl(encodeControl({ kind: ControlKind.ATTEST, evidence: max }));
    expect(m).toEqual({ kind: ControlKind.ATTEST, evidence: max });
    expect(() => encodeControl({ kind: ControlKind.ATTEST, evidence: new Uint8Array(MAX_ATTEST_EVIDENCE_BYTES + 1) })).toThrow(RangeError);
    const header = Uint8Array.of(ControlKind.ATTEST, 0, 1, 0, 1); // claims 65,537 bytes, carries none
    expect(() => decodeControl(header)).toThrow(/exceeds/);
    expect(() => decodeControl(Uint8Array.of(ControlKind.ATTEST, 0, 0, 0, 2, 1))).toThrow(DecodeError); // truncated
    expect(decodeControl(Uint8Array.of(ControlKind.ATTEST, 0, 0, 0, 0))).toEqual({ kind: ControlKind.ATTEST, evidence: new Uint8Array(0) });
  });

  it('ATTEST: 10,000 junk and mutated inputs throw only DecodeError', () => {
    const attestArb = fc.uint8Array({ maxLength: 300 }).map((evidence) => encodeControl({ kind: ControlKind.ATTEST, evidence }));
    fc.assert(
      fc.property(junk(attestArb), (b) => onlyTypedErrors(decodeControl, b)),
      { numRuns: 10_000 },
    );
  });

  it('10,000 junk and mutated inputs throw only DecodeError', () => {
    fc.assert(
      fc.property(
        junk(controlArb.map(encodeControl)),
        (b) => onlyTypedErrors(decodeControl, b),
      ),
      { numRuns: 10_000 },
    );
  });
});
