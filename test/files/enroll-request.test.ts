import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createEnrollRequest, encodeEnrollRequest, loadEnrollRequest, parseEnrollRequest, writeEnrollRequest } from '../../src/files/enroll-request.js';
import { artefactSignatureInput } from '../../src/uzp/artefacts/envelope.js';
import { toHex } from '../../src/uzp/bytes.js';
import { encodeCanonical } from '../../src/uzp/cbor.js';
import { nodeProvider as provider } from '../../src/uzp/crypto/node.js';
import { ErrorCode } from '../../src/uzp/errors.js';
import { identityFromSeed } from '../../src/uzp/identity/identity.js';
import { codeOf } from '../helpers/errors.js';
import { FileErrorCode } from '../../src/files/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'uzp-enroll-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const id = identityFromSeed(provider, new Uint8Array(32).fill(3));
const other = identityFromSeed(provider, new Uint8Array(32).fill(4));

describe('enrollment requests', () => {
  it('round-trip through a file and prove possession of the key', () => {
    const f = join(dir, 'req.json');
    writeEnrollRequest(f, createEnrollRequest(id, { name: 'op-anna', role: 'operator' }));
    const r = loadEnrollRequest(provider, f);
    expect(toHex(r.cid)).toBe(toHex(id.cid));
    expect([r.name, r.role]).toEqual(['op-anna', 'operator']);
  });

  it('pop is Ed25519 over the documented domain-separated input', () => {
    const r = createEnrollRequest(id, { role: 'gateway' });
    const m = encodeCanonical({ cid: id.cid, pk: id.publicKey, role: 'gateway' });
    expect(provider.ed25519Verify(id.publicKey, artefactSignatureInput('enroll-request', m), r.pop)).toBe(true);
  });

  it('altered requests are refused', () => {
    const good = JSON.parse(encodeEnrollRequest(createEnrollRequest(id, { name: 'gw', role: 'gateway' })));
    const cases: [object, string][] = [
      [{ ...good, name: 'gw-evil' }, ErrorCode.SIG_INVALID],
      [{ ...good, role: 'rn' }, ErrorCode.SIG_INVALID],
      [(({ name: _n, ...rest }) => rest)(good), ErrorCode.SIG_INVALID],
      [{ ...good, public: toHex(other.publicKey), cid: toHex(other.cid) }, ErrorCode.SIG_INVALID],
      [{ ...good, cid: toHex(other.cid) }, ErrorCode.SIG_INVALID],
      [{ ...good, role: 'admin' }, FileErrorCode.FILE_INVALID],
      [{ ...good, kind: 'uzp-gw/trust-anchor' }, FileErrorCode.FILE_INVALID],
      [{ ...good, pop: good.pop.slice(2) }, FileErrorCode.FILE_INVALID],
      [{ ...good, extra: true }, FileErrorCode.FILE_INVALID],
    ];
    for (const [bad, code] of cases) expect(codeOf(() => parseEnrollRequest(provider, JSON.stringify(bad), 'r.json'))).toBe(code);
    expect(codeOf(() => parseEnrollRequest(provider, JSON.stringify(good), 'r.json'))).toBe('no error');
  });

  it('10,000 junk and mutated requests: only typed errors', () => {
    const base = encodeEnrollRequest(createEnrollRequest(id, { name: 'gw', role: 'gateway' }));
    const mutated = fc
      .array(fc.record({ pos: fc.nat(), ch: fc.constantFrom('"', '{', '}', ',', '0', 'f', 'z', ' ', '\\', 'é') , del: fc.boolean() }), { minLength: 1, maxLength: 4 })
      .map((ops) => {
        let s = base;
        for (const o of ops) {
          const p = o.pos % s.length;
          s = o.del ? s.slice(0, p) + s.slice(p + 1) : s.slice(0, p) + o.ch + s.slice(p + 1);
        }
        return s;
      });
    let errors = 0;
    fc.assert(
      fc.property(fc.oneof(mutated, fc.json(), fc.string({ maxLength: 100 })), (text) => {
        const c = codeOf(() => parseEnrollRequest(provider, text, 'r.json'));
        expect(c).not.toMatch(/^untyped/);
        if (c !== 'no error') errors++;
      }),
      { numRuns: 10_000 },
    );
    expect(errors).toBeGreaterThan(9_000);
  });
});
