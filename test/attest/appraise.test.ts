// Evidence round trip and appraisal: each tampering the issue names fails with its precise reason.

import { renameSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appraise, type AppraisalContext } from '../../src/attest/appraise.js';
import { sessionBinding } from '../../src/attest/binding.js';
import { decodeEvidence } from '../../src/attest/evidence.js';
import { NonceStore } from '../../src/attest/nonces.js';
import type { AppraisalResult, ReferenceManifest } from '../../src/attest/types.js';
import { EAT_PROFILE } from '../../src/attest/types.js';
import { toHex } from '../../src/uzp/bytes.js';
import { sessionPair } from '../helpers/session-pair.js';
import { Fixture, p } from './fixtures.js';

function failures(r: AppraisalResult): string[] {
  return [...r.claims.filter((c) => c.status === 'fail').map((c) => `${c.claim}: ${c.reason}`), ...r.slots.flatMap((s) => s.checks.filter((c) => c.status === 'fail').map((c) => `${s.slot}.${c.claim}: ${c.reason}`))];
}

describe('evidence and appraisal', () => {
  let f: Fixture;
  let reference: ReferenceManifest;
  let nonces: NonceStore;
  const binding = new Uint8Array(32).fill(7);
  const ctx = (extra: Partial<AppraisalContext> = {}): AppraisalContext => ({ nonce: { store: nonces }, binding, ...extra });

  beforeEach(async () => {
    f = new Fixture();
    reference = await f.reference();
    nonces = new NonceStore(p);
  });
  afterEach(() => f.close());

  it('round trip: the claims decode as made and a clean gateway passes every check', async () => {
    const nonce = nonces.issue();
    const bytes = await f.attester({ identities: { 'rs485-1': { vendor: 'ACME', product: 'TH-20', revision: '1.2' } } }).evidence(nonce, binding);
    const ev = decodeEvidence(p, bytes);
    expect(ev.claims.eat_profile).toBe(EAT_PROFILE);
    expect(toHex(ev.claims.eat_nonce)).toBe(toHex(nonce));
    expect(toHex(ev.claims.ueid.subarray(1))).toBe(toHex(f.id.cid));
    expect(ev.claims.binding).toEqual(binding);
    expect(ev.claims.board).toBe('virtual');
    expect(ev.claims.key_origin).toBe('software');
    expect(ev.claims.measurements.node).toBe(process.version);
    expect(ev.claims.measurements.bundle.files).toBe(7); // docs/ is not part of the bundle
    expect(ev.claims.measurements.bundle.groups.map((g) => g.name)).toEqual([
      'dist/attest',
      'dist/cli',
      'node_modules/@serialport/bindings-cpp',
      'node_modules/pino',
      'package-lock.json',
      'package.json',
    ]);
    expect(Object.keys(ev.claims.submods).sort()).toEqual(['net-1', 'rs485-1', 'tty-1', 'tty-2']);
    expect(ev.claims.submods['rs485-1']).toMatchObject({ device: 'th-bus-1', driver: 'modbus-poller', identity: { vendor: 'ACME', product: 'TH-20' } });
    expect(ev.claims.submods['net-1']!.port).toBe('mqtt://127.0.0.1:1883');
    const r = appraise(p, bytes, reference, { gateway: f.id.cid }, ctx());
    expect(failures(r)).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.slots.map((s) => s.slot)).toEqual(['net-1', 'rs485-1', 'tty-1', 'tty-2']);
  });

  it('a changed bundle file fails measurements.bundle and names the part that changed', async () => {
    const a = f.attester();
    f.write('bundle/dist/cli/main.js', 'console.log("patched")\n');
    const r = appraise(p, await a.evidence(nonces.issue(), binding), reference, {}, ctx());
    expect(r.ok).toBe(false);
    expect(failures(r)).toHaveLength(1);
    expect(failures(r)[0]).toMatch(/^measurements\.bundle: bundle differs from the reference: dist\/cli differs \(1 -> 1 files/);
  });

  it('an added file in a package is named too', async () => {
    f.write('bundle/node_modules/pino/evil.js', 'x');
    const r = appraise(p, await f.attester().evidence(nonces.issue(), binding), reference, {}, ctx());
    expect(failures(r)).toEqual([expect.stringMatching(/node_modules\/pino differs \(1 -> 2 files/)]);
  });

  it('a changed config fails measurements.config only', async () => {
    const changed = f.config((c) => {
      (c.audit as { level: string }).level = 'debug';
    });
    const r = appraise(p, await f.attester(changed).evidence(nonces.issue(), binding), reference, {}, ctx());
    expect(failures(r)).toEqual([expect.stringMatching(/^measurements\.config: config digest [0-9a-f]{16}… differs from the reference/)]);
  });

  it('the node binary: pinned by SHA-256; a replaced one fails naming it, even while the attester runs; no pin is a skip', async () => {
    const a = f.attester();
    const claim = (r: AppraisalResult) => r.claims.find((c) => c.claim === 'measurements.runtime')!;
    const clean = appraise(p, await a.evidence(nonces.issue(), binding), reference, {}, ctx());
    expect(claim(clean)).toMatchObject({ status: 'pass', reason: expect.stringContaining(`node binary ${f.runtimePath}, SHA-256 `) });
    // Swapped the way an attacker would (a running executable cannot be rewritten in place): a new
    // file renamed over the old. The next evidence measures the new bytes.
    f.write('bundle/runtime/bin/node.new', '\x7fELF another node\n');
    renameSync(join(f.dir, 'bundle/runtime/bin/node.new'), f.runtimePath);
    const swapped = appraise(p, await a.evidence(nonces.issue(), binding), reference, {}, ctx());
    expect(failures(swapped)).toEqual([
      expect.stringMatching(new RegExp(`^measurements\\.runtime: node binary ${f.runtimePath} has SHA-256 [0-9a-f]{16}…, not that of the runtime flash installed at /opt/uzp-gateway/runtime/bin/node`)),
    ]);
    const unpinned = appraise(p, await a.evidence(nonces.issue(), binding), await f.reference({ runtime: false }), {}, ctx());
    expect(claim(unpinned)).toMatchObject({ status: 'skip', reason: expect.stringMatching(/the manifest pins no runtime: flashed with --node/) });
    expect(unpinned.ok).toBe(true);
  });

  it("a slot's device changing fails that slot with the reason", async () => {
    // Another device wired to the slot and configured under a new id: config and slot both change.
    const changed = f.config((c) => {
      ((c.slots as Record<string, { device: { id: string } }>)['tty-2']!.device.id) = 'scale-9';
    });
    const r = appraise(p, await f.attester(changed).evidence(nonces.issue(), binding), reference, {}, ctx());
    expect(r.slots.find((s) => s.slot === 'tty-2')).toMatchObject({ status: 'fail', checks: [{ claim: 'device', status: 'fail', reason: 'device "scale-9", expected "scale-3"' }, { status: 'pass' }, { status: 'pass' }, { status: 'skip' }] });
    expect(r.slots.filter((s) => s.status === 'fail').map((s) => s.slot)).toEqual(['tty-2']);
  });

  it('a swapped physical device (same config) fails when its identity is pinned', async () => {
    const pinned = { 'rs485-1': { vendor: 'ACME', product: 'TH-20', revision: '1.2' } };
    const swapped = await f.attester({ identities: { 'rs485-1': { vendor: 'Other', product: 'TH-20', revision: '1.2' } } }).evidence(nonces.issue(), binding);
    const r = appraise(p, swapped, reference, { slotIdentities: pinned }, ctx());
    expect(failures(r)).toEqual(['rs485-1.identity: device reports Other / TH-20 / 1.2, expected ACME / TH-20 / 1.2']);
    const silent = await f.attester().evidence(nonces.issue(), binding);
    expect(failures(appraise(p, silent, reference, { slotIdentities: pinned }, ctx()))).toEqual(['rs485-1.identity: the device did not identify itself; expected ACME / TH-20 / 1.2']);
  });

  it('a nonce is accepted once: the same evidence again is a replay', async () => {
    const bytes = await f.attester().evidence(nonces.issue(), binding);
    expect(appraise(p, bytes, reference, {}, ctx()).ok).toBe(true);
    const again = appraise(p, bytes, reference, {}, ctx());
    expect(failures(again)).toEqual(['eat_nonce: nonce was already used: replayed evidence']);
    const foreign = await f.attester().evidence(new Uint8Array(16).fill(1), binding);
    expect(failures(appraise(p, foreign, reference, {}, ctx()))).toEqual(['eat_nonce: nonce was never issued by this verifier']);
  });

  it('evidence bound to another session fails the binding check', async () => {
    const a = sessionPair();
    const b = sessionPair();
    const nonce = nonces.issue();
    // Made for session A's exporter, presented on session B.
    const bytes = await f.attester().evidence(nonce, sessionBinding(a.gateway, nonce));
    expect(sessionBinding(a.operator, nonce)).toEqual(sessionBinding(a.gateway, nonce));
    const onB = appraise(p, bytes, reference, {}, { nonce: { store: nonces }, binding: sessionBinding(b.operator, nonce) });
    expect(failures(onB)).toEqual(['binding: bound to another session: the exporter value differs']);
    const unbound = await f.attester().evidence(nonces.issue());
    expect(failures(appraise(p, unbound, reference, {}, ctx()))).toEqual(['binding: evidence is not bound to a session']);
    for (const s of [a, b]) {
      s.operator.close();
      s.gateway.close();
    }
  });

  it('policy: TPM required refuses a software key; debug mode, wrong gateway, stale iat', async () => {
    const bytes = await f.attester().evidence(nonces.issue(), binding);
    expect(failures(appraise(p, bytes, reference, { requireTpm: true }, ctx()))).toEqual(['key_origin: software key only; policy requires a TPM-held attestation key']);
    const dbg = f.config((c) => {
      c.attestation = { debug: true };
    });
    const dbgEv = await f.attester(dbg).evidence(nonces.issue(), binding);
    expect(failures(appraise(p, dbgEv, await f.reference(dbg), {}, ctx()))).toEqual(['dbgstat: debug/development mode is enabled']);
    expect(appraise(p, await f.attester(dbg).evidence(nonces.issue(), binding), await f.reference(dbg), { allowDebug: true }, ctx()).ok).toBe(true);
    const other = new Uint8Array(32).fill(9);
    expect(failures(appraise(p, await f.attester().evidence(nonces.issue(), binding), reference, { gateway: other }, ctx()))[0]).toMatch(/^ueid: evidence from [0-9a-f]{64}, expected 0909/);
    const old = await f.attester({ now: () => Date.now() - 3_600_000 }).evidence(nonces.issue(), binding);
    expect(failures(appraise(p, old, reference, {}, ctx()))).toEqual([expect.stringMatching(/^iat: issued 3[56]\d\d s ago, more than 300 s$/)]);
  });

  it('a flipped signature byte fails the signature check; junk is reported, never thrown', async () => {
    const bytes = await f.attester().evidence(nonces.issue(), binding);
    const bad = bytes.slice();
    bad[bad.length - 5]! ^= 0x01; // inside the Ed25519 signature, the last field of the envelope
    const r = appraise(p, bad, reference, {}, ctx());
    expect(failures(r)).toContain('signature: the evidence signature does not verify');
    const junk = appraise(p, new Uint8Array([1, 2, 3]), reference, {}, ctx());
    expect(junk.ok).toBe(false);
    expect(junk.claims[0]!.claim).toBe('evidence');
  });
});
