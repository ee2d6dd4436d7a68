// `connect --por-log` records (draft §12.1, §12.7): each PoR the operator accepted becomes a
// por-evidence envelope signed by the operator, whose fields are exactly the ones the responder's
// proof covers: an auditor with the session's PoR key recomputes the proof from the record alone.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { logPors } from '../../src/operator/por-log.js';
import { openArtefact, verifySignatures } from '../../src/uzp/artefacts/open.js';
import { equal, toHex } from '../../src/uzp/bytes.js';
import { EXPORTER_LABELS } from '../../src/uzp/exporter.js';
import { encodeResponse, POR_PROFILE_EXPORTER_HMAC } from '../../src/uzp/session/por.js';
import { continuityPair } from '../helpers/continuity-pair.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const turns = async (n = 20): Promise<void> => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

describe('por-evidence records (connect --por-log)', () => {
  it('records every accepted PoR as an operator-signed por-evidence envelope whose proof an auditor can recompute', async () => {
    const p = continuityPair({ continuity: { por: { intervalMs: 100, timeoutMs: 500 } } });
    const dir = mkdtempSync(join(tmpdir(), 'uzp-porlog-'));
    dirs.push(dir);
    const file = join(dir, 'por.jsonl');
    const errors: Error[] = [];
    logPors(file, p.d.provider, p.op.id.signer, p.operator, (e) => errors.push(e));
    // The first challenge went out at attach; each accepted one arms the next after 100 ms.
    for (let i = 0; i < 4; i++) {
      await turns();
      p.clock.tick(100);
    }
    await turns();
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { object_id: string; artefact: string });
    expect(errors).toEqual([]);
    expect(lines.length).toBeGreaterThanOrEqual(3);
    const porKey = p.gateway.exporter(EXPORTER_LABELS.por, new Uint8Array(0), 32);
    const tag = p.gateway.failover!.continuity.tag;
    const nonces = new Set<string>();
    for (const l of lines) {
      const env = openArtefact(p.d.provider, new Uint8Array(Buffer.from(l.artefact, 'base64')), 'por-evidence');
      expect(toHex(env.objectId)).toBe(l.object_id);
      expect([toHex(env.issuer), toHex(env.subject!), toHex(env.audience!)]).toEqual([toHex(p.op.id.cid), toHex(p.gw.id.cid), toHex(p.op.id.cid)]);
      verifySignatures(p.d.provider, env, (kid) => (equal(kid, p.op.id.cid) ? p.op.id.publicKey : undefined));
      const b = env.body;
      expect(b.profile).toBe(POR_PROFILE_EXPORTER_HMAC);
      expect(equal(b.rnCid, p.rns[0].cid)).toBe(true);
      expect(equal(b.sessionTag, tag)).toBe(true);
      // The responder's proof, recomputed from the record's fields with the session's PoR key.
      const challenge = { profile: b.profile, nonce: b.nonce, rnCid: b.rnCid, generation: b.generation, issuedMs: b.issuedMs, expiresMs: b.expiresMs };
      const again = encodeResponse(p.d.provider, { key: porKey, tag, localCid: p.gw.id.cid, peerCid: p.op.id.cid }, challenge).subarray(-32);
      expect(toHex(again)).toBe(toHex(b.proof));
      nonces.add(toHex(b.nonce));
    }
    expect(nonces.size).toBe(lines.length); // one record per accepted nonce (single acceptance, §12.5)
  });

  it('a file that cannot be written is reported once and the session goes on', async () => {
    const p = continuityPair({ continuity: { por: { intervalMs: 100, timeoutMs: 500 } } });
    const errors: Error[] = [];
    logPors('/proc/no-such-dir/por.jsonl', p.d.provider, p.op.id.signer, p.operator, (e) => errors.push(e));
    for (let i = 0; i < 3; i++) {
      await turns();
      p.clock.tick(100);
    }
    expect(errors).toHaveLength(1);
    expect(p.operator.state).toBe('stitched');
  });
});
