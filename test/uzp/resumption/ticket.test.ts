// Resumption tickets (src/uzp/resumption/ticket.ts): the byte layout and sealing rebuilt from the
// file's own description with node:crypto; open() only ever returns a state this responder sealed
// (not another responder's, not one from before two rotations, not a flipped bit, never junk), and
// never throws on network bytes; the state codec is strict (fast-check, junk).

import { createCipheriv } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isCodedError } from '../../../src/lib/errors.js';
import { toHex } from '../../../src/uzp/bytes.js';
import { nobleProvider } from '../../../src/uzp/crypto/noble.js';
import { nodeProvider } from '../../../src/uzp/crypto/node.js';
import { decodeTicketState, encodeTicketState, MAX_TICKET_LIFETIME_MS, TICKET_LENGTH, TICKET_STATE_LENGTH, TicketKeys, type TicketState } from '../../../src/uzp/resumption/ticket.js';

const run = (start: number, n = 32): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (start + i) & 0xff);
const STATE: TicketState = {
  ticketId: run(0x10, 16),
  issuedMs: 1_795_262_400_000,
  expiresMs: 1_795_262_400_000 + 3600_000,
  suite: 0x0001,
  initiatorCid: run(0xa0),
  responderCid: run(0xc0),
  grantId: new Uint8Array(32).fill(0x47),
  psk: run(0x60),
  maxEarlyData: 16_384,
};
const KEY = { id: run(0xf0, 8), key: run(0x80) };
const NONCE = run(0x30, 12);

/** The state's bytes as the file's header describes them, built without our Writer. */
function stateBytes(s: TicketState): Buffer {
  const b = Buffer.alloc(TICKET_STATE_LENGTH);
  let o = b.writeUInt8(1, 0);
  o += Buffer.from(s.ticketId).copy(b, o);
  o = b.writeBigUInt64BE(BigInt(s.issuedMs), o);
  o = b.writeBigUInt64BE(BigInt(s.expiresMs), o);
  o = b.writeUInt16BE(s.suite, o);
  for (const f of [s.initiatorCid, s.responderCid, s.grantId, s.psk]) o += Buffer.from(f).copy(b, o);
  b.writeUInt32BE(s.maxEarlyData, o);
  return b;
}

describe('resumption tickets', () => {
  it.each([
    ['node', nodeProvider],
    ['noble', nobleProvider],
  ] as const)('key_id || nonce || ChaCha20-Poly1305(key, nonce, "uzp ticket v1" || key_id, state), as the header says (%s provider)', (_n, p) => {
    const ticket = new TicketKeys(p, KEY).seal(STATE, NONCE);
    expect(ticket.length).toBe(TICKET_LENGTH);
    expect(toHex(encodeTicketState(STATE))).toBe(stateBytes(STATE).toString('hex'));
    const c = createCipheriv('chacha20-poly1305', KEY.key, NONCE, { authTagLength: 16 });
    c.setAAD(Buffer.concat([Buffer.from('uzp ticket v1'), KEY.id]), { plaintextLength: TICKET_STATE_LENGTH });
    const expected = Buffer.concat([KEY.id, NONCE, c.update(stateBytes(STATE)), c.final(), c.getAuthTag()]);
    expect(toHex(ticket)).toBe(expected.toString('hex'));
    expect(new TicketKeys(p, KEY).open(ticket)).toEqual(STATE);
  });

  it('opens only its own tickets: not another responder’s, not after two rotations, not with a bit flipped', () => {
    const keys = new TicketKeys(nodeProvider);
    const t = keys.seal(STATE);
    expect(keys.open(t)).toEqual(STATE);
    expect(new TicketKeys(nodeProvider).open(t)).toBeUndefined(); // a restarted responder: fresh keys
    keys.rotate();
    expect(keys.open(t)).toEqual(STATE); // the previous key still opens
    const t2 = keys.seal(STATE);
    keys.rotate();
    expect(keys.open(t)).toBeUndefined();
    expect(keys.open(t2)).toEqual(STATE);
    for (let i = 0; i < t2.length; i++) {
      const flipped = Uint8Array.from(t2);
      flipped[i]! ^= 0x01;
      expect(keys.open(flipped), `bit flipped in byte ${i}`).toBeUndefined();
    }
    expect(keys.open(t2.subarray(0, TICKET_LENGTH - 1))).toBeUndefined();
  });

  it('refuses lifetimes that are empty or longer than the maximum, both ways', () => {
    expect(() => encodeTicketState({ ...STATE, expiresMs: STATE.issuedMs })).toThrow(RangeError);
    expect(() => encodeTicketState({ ...STATE, expiresMs: STATE.issuedMs + MAX_TICKET_LIFETIME_MS + 1 })).toThrow(RangeError);
    const b = stateBytes({ ...STATE, expiresMs: STATE.issuedMs + MAX_TICKET_LIFETIME_MS + 1 });
    expect(() => decodeTicketState(b)).toThrow(/lifetime/);
  });

  it('any bytes: open() returns undefined or a state it sealed, never throws; the state codec throws only DecodeErrors', () => {
    const keys = new TicketKeys(nodeProvider, KEY);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (b) => {
        expect(keys.open(b)).toBeUndefined();
        try {
          decodeTicketState(b);
        } catch (e) {
          expect(isCodedError(e) && e.code.startsWith('DECODE_')).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
    // Tickets of the right length under our key id but random contents: the tag fails.
    fc.assert(
      fc.property(fc.uint8Array({ minLength: TICKET_LENGTH - 8, maxLength: TICKET_LENGTH - 8 }), (rest) => {
        const t = new Uint8Array(TICKET_LENGTH);
        t.set(KEY.id, 0);
        t.set(rest, 8);
        expect(keys.open(t)).toBeUndefined();
      }),
      { numRuns: 300 },
    );
  });

  it('round-trips any valid state', () => {
    const id = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
    fc.assert(
      fc.property(id(16), id(32), id(32), id(32), id(32), fc.integer({ min: 0, max: 2 ** 50 }), fc.integer({ min: 1, max: MAX_TICKET_LIFETIME_MS }), fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffffffff }), (ticketId, initiatorCid, responderCid, grantId, psk, issuedMs, life, suite, maxEarlyData) => {
        const s: TicketState = { ticketId, initiatorCid, responderCid, grantId, psk, issuedMs, expiresMs: issuedMs + life, suite, maxEarlyData };
        expect(decodeTicketState(encodeTicketState(s))).toEqual(s);
      }),
      { numRuns: 300 },
    );
  });
});
