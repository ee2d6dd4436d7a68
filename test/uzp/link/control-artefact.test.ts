// CONTROL ARTEFACT (0x0c, RN -> EP, docs/PROFILE.md §CONTROL): one artefact envelope as vec32,
// bounded by the envelope cap on both sides; junk decodes only to typed errors.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DecodeError, isCodedError } from '../../../src/lib/errors.js';
import { MAX_ENVELOPE_BYTES } from '../../../src/uzp/artefacts/constants.js';
import { ControlKind, MAX_ARTEFACT_BYTES } from '../../../src/uzp/link/constants.js';
import { decodeControl, encodeControl } from '../../../src/uzp/link/control.js';

describe('CONTROL ARTEFACT', () => {
  it('carries up to one envelope (64 KiB); longer is refused by the encoder and, from the length alone, by the decoder', () => {
    expect(MAX_ARTEFACT_BYTES).toBe(MAX_ENVELOPE_BYTES);
    const max = new Uint8Array(MAX_ARTEFACT_BYTES).fill(9);
    expect(decodeControl(encodeControl({ kind: ControlKind.ARTEFACT, artefact: max }))).toEqual({ kind: ControlKind.ARTEFACT, artefact: max });
    expect(() => encodeControl({ kind: ControlKind.ARTEFACT, artefact: new Uint8Array(MAX_ARTEFACT_BYTES + 1) })).toThrow(RangeError);
    expect(() => decodeControl(Uint8Array.of(ControlKind.ARTEFACT, 0, 1, 0, 1))).toThrow(/exceeds/); // claims 65,537 bytes
    expect(() => decodeControl(Uint8Array.of(ControlKind.ARTEFACT, 0, 0, 0, 2, 1))).toThrow(DecodeError); // truncated
    expect(() => decodeControl(Uint8Array.of(ControlKind.ARTEFACT, 0, 0, 0, 1, 1, 2))).toThrow(DecodeError); // trailing
  });

  it('the profile vector', () => {
    expect(Buffer.from(encodeControl({ kind: ControlKind.ARTEFACT, artefact: Uint8Array.of(0xa1, 0xb2, 0xc3) })).toString('hex')).toBe('0c00000003a1b2c3');
  });

  it('10,000 junk and mutated inputs throw only DecodeError', () => {
    const valid = fc.uint8Array({ maxLength: 300 }).map((artefact) => encodeControl({ kind: ControlKind.ARTEFACT, artefact }));
    const mutated = fc.tuple(valid, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.nat({ max: 8 })).map(([b, i, v, cut]) => {
      const c = b.slice(0, Math.max(1, b.length - cut));
      if (c.length > 1) c[1 + (i % (c.length - 1))] = v;
      return c;
    });
    fc.assert(
      fc.property(fc.oneof(mutated, fc.uint8Array({ maxLength: 64 }).map((b) => Uint8Array.of(ControlKind.ARTEFACT, ...b))), (b) => {
        try {
          decodeControl(b);
        } catch (e) {
          expect(isCodedError(e) && e instanceof DecodeError).toBe(true);
        }
      }),
      { numRuns: 10_000 },
    );
  });
});
