// Attestation through every real part: an RN process, a `uzpgw gateway` process with a Modbus slot
// whose slave identifies itself, and `uzpgw connect … attest` / `--manifest` as operator processes;
// plus `uzpgw attest` and `uzpgw attest verify` as CLIs.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signManifest } from '../../src/attest/manifest.js';
import { RUNNING_BUNDLE_DIR } from '../../src/attest/measure.js';
import { referenceFor } from '../../src/attest/reference.js';
import type { ReferenceManifest } from '../../src/attest/types.js';
import { attestInputOf } from '../../src/config/attest-input.js';
import { loadBoard, loadGatewayConfig } from '../../src/config/index.js';
import { toHex } from '../../src/uzp/bytes.js';
import { nodeProvider as p } from '../../src/uzp/crypto/node.js';
import { spawnCli, stopAll, stopProcess, waitForJsonLine } from '../helpers/processes.js';
import { startSwtpm } from '../helpers/swtpm.js';
import { SLAVE_IDENTITY, startGateway, type GatewaySetup } from './gateway-setup.js';

let dir: string;
let g: GatewaySetup;
let reference: ReferenceManifest;

function writeManifest(name: string, m: ReferenceManifest): string {
  const file = join(dir, name);
  writeFileSync(file, signManifest(p, g.signer.signer, m));
  return file;
}

async function run(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const c = spawnCli(args);
  const { code } = await c.exited;
  return { code, out: c.stdout(), err: c.stderr() };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'uzp-attest-proc-'));
  g = await startGateway(dir);
  const config = loadGatewayConfig(g.config);
  // What `uzpgw flash` would write for this tree, with the slave's identity pinned as installed.
  const ref = await referenceFor(p, { bundleDir: RUNNING_BUNDLE_DIR, input: attestInputOf(config, loadBoard(config.board), p), node: [process.version] });
  reference = { ...ref, slots: { ...ref.slots, 'rs485-1': { ...ref.slots['rs485-1']!, identity: { vendor: 'ACME', product: 'TH-20', revision: '1.4' } } } };
}, 60_000);

afterAll(async () => {
  await stopAll();
  await g?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('attestation with real processes', () => {
  it('connect … attest: session-bound evidence from the running gateway passes, the slave identifies itself', async () => {
    const m = writeManifest('good.cbor', reference);
    const r = await run(['connect', ...g.connectArgs, 'attest', '--manifest', m, '--manifest-signer', toHex(g.signer.cid), '--json']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const result = JSON.parse(r.out) as { ok: boolean; gateway: string; claims: { claim: string; status: string }[]; slots: { slot: string; checks: { claim: string; status: string; reason: string }[] }[] };
    expect(result.ok).toBe(true);
    expect(result.gateway).toBe(toHex(g.gw.id.cid));
    const status = Object.fromEntries(result.claims.map((c) => [c.claim, c.status]));
    expect(status).toMatchObject({ signature: 'pass', ueid: 'pass', eat_nonce: 'pass', binding: 'pass', 'measurements.bundle': 'pass', 'measurements.config': 'pass', key_origin: 'pass' });
    expect(result.slots[0]!.checks.find((c) => c.claim === 'identity')).toEqual({ claim: 'identity', status: 'pass', reason: `${SLAVE_IDENTITY.vendorName} / ${SLAVE_IDENTITY.productCode} / ${SLAVE_IDENTITY.revision}` });
  }, 60_000);

  it('connect tail --manifest: a gateway that does not match the manifest gets no slot opened', async () => {
    const other = { ...reference, slots: { 'rs485-1': { ...reference.slots['rs485-1']!, identity: { vendor: 'ACME', product: 'TH-21', revision: '1.4' } } } };
    const m = writeManifest('other-device.cbor', other);
    const r = await run(['connect', ...g.connectArgs, '--slot', 'rs485-1', 'tail', '--count', '1', '--manifest', m, '--manifest-signer', toHex(g.signer.cid)]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('appraisal: FAIL');
    expect(r.err).toContain('FAIL identity');
    expect(r.err).toContain('device reports ACME / TH-20 / 1.4, expected ACME / TH-21 / 1.4');
    expect(r.out).toBe(''); // no reading: the slot was never opened
    // The same with the right manifest opens the slot and delivers a reading.
    const ok = await run(['connect', ...g.connectArgs, '--slot', 'rs485-1', 'tail', '--count', '1', '--manifest', writeManifest('good2.cbor', reference), '--manifest-signer', toHex(g.signer.cid)]);
    expect(ok.code).toBe(0);
    expect(ok.err).toContain('gateway attestation passed');
    expect(JSON.parse(ok.out.split('\n')[0]!)).toMatchObject({ event: 'reading', slot: 'rs485-1', device: 'th-bus-1' });
  }, 60_000);

  it('connect … ui --manifest: the console\'s fleet view carries the passing verdict of this session\'s appraisal', async () => {
    const m = writeManifest('ui.cbor', reference);
    const ui = spawnCli(['connect', ...g.connectArgs, 'ui', '--listen', '127.0.0.1:0', '--manifest', m, '--manifest-signer', toHex(g.signer.cid)]);
    const { url } = await waitForJsonLine<{ url: string }>(ui, (v) => v.event === 'listening');
    const fleet = (await (await fetch(new URL('/api/fleet', url))).json()) as { verdict: { status: string; reasons: string[] } }[];
    expect(fleet).toHaveLength(1);
    expect(fleet[0]!.verdict.status).toBe('pass');
    expect(fleet[0]!.verdict.reasons[0]).toMatch(/^\d+ checks passed, 1 slot$/);
    await stopProcess(ui);
  });

  it('a manifest from an untrusted signer is refused before anything is sent', async () => {
    const m = writeManifest('good3.cbor', reference);
    const r = await run(['connect', ...g.connectArgs, 'attest', '--manifest', m, '--manifest-signer', '00'.repeat(32)]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/not a trusted manifest signer \[SIG_UNKNOWN_SIGNER\]/);
  });

  it('uzpgw attest + attest verify: pass once, then the same nonce is a replay', async () => {
    const nonce = '0f'.repeat(16);
    const ev = await run(['attest', '--config', g.config, '--nonce', nonce, '--json']);
    expect(ev.err).toBe('');
    expect(ev.code).toBe(0);
    const e = JSON.parse(ev.out) as { evidence: string; gateway: string; key_origin: string; ak_name?: string; claims: { submods: Record<string, { identity?: unknown }> } };
    expect(e.key_origin).toBe('software');
    expect(e.ak_name).toBeUndefined();
    writeFileSync(join(dir, 'ev.hex'), e.evidence);
    // Offline evidence carries no device identity (the running gateway owns the port): no pin here.
    const { identity: _pinned, ...unpinned } = reference.slots['rs485-1']!;
    const m = writeManifest('offline.cbor', { ...reference, slots: { 'rs485-1': unpinned } });
    const base = ['attest', 'verify', '--evidence', join(dir, 'ev.hex'), '--manifest', m, '--manifest-signer', toHex(g.signer.cid)];
    // The manifest is per image: without --gateway or --any-gateway, nothing is appraised (exit 2).
    const unsaid = await run([...base, '--nonce', nonce]);
    expect([unsaid.code, unsaid.err]).toEqual([2, expect.stringContaining('say which gateway the evidence must come from')]);
    // Another gateway pinned: this gateway's evidence fails ueid (no nonce record, so the nonce stays unused).
    const another = await run([...base, '--gateway', 'ee'.repeat(32), '--nonce', nonce]);
    expect(another.code).toBe(1);
    expect(another.out).toContain(`FAIL ueid                   evidence from ${e.gateway}, expected ${'ee'.repeat(32)}`);
    const verify = [...base, '--gateway', e.gateway, '--nonce', nonce, '--seen', join(dir, 'seen.json')];
    const first = await run(verify);
    expect(first.out).toContain('appraisal: PASS');
    expect(first.code).toBe(0);
    const again = await run(verify);
    expect(again.code).toBe(1);
    expect(again.out).toMatch(/FAIL eat_nonce +nonce was already used: replayed evidence/);
    const wrongNonce = await run([...verify.slice(0, -4), '--nonce', 'aa'.repeat(16)]);
    expect(wrongNonce.out).toMatch(/FAIL eat_nonce/);
  }, 60_000);
  it('with a TPM: uzpgw attest prints the AK name, and attest verify --trusted-ak CID:NAME passes for that gateway only', async () => {
    const tpm = await startSwtpm();
    try {
      const cfg = JSON.parse(readFileSync(g.config, 'utf8')) as Record<string, unknown>;
      const tpmConfig = join(dir, 'gateway-tpm.json');
      writeFileSync(tpmConfig, JSON.stringify({ ...cfg, attestation: { tpm: 'required', tcti: tpm.tcti } }));
      const nonce = '1e'.repeat(16);
      const ev = await run(['attest', '--config', tpmConfig, '--nonce', nonce, '--json']);
      expect([ev.code, ev.err]).toEqual([0, '']);
      const e = JSON.parse(ev.out) as { evidence: string; gateway: string; key_origin: string; ak_name: string };
      expect(e.key_origin).toBe('tpm');
      expect(e.ak_name).toMatch(/^000b[0-9a-f]{64}$/);
      writeFileSync(join(dir, 'ev-tpm.hex'), e.evidence);
      // The config names the TPM, so its digest is another: the reference flash would write for it.
      const config = loadGatewayConfig(tpmConfig);
      const m = writeManifest('offline-tpm.cbor', await referenceFor(p, { bundleDir: RUNNING_BUNDLE_DIR, input: attestInputOf(config, loadBoard(config.board), p), node: [process.version] }));
      const verify = (ak: string): Promise<{ code: number | null; out: string; err: string }> =>
        run(['attest', 'verify', '--evidence', join(dir, 'ev-tpm.hex'), '--manifest', m, '--manifest-signer', toHex(g.signer.cid), '--nonce', nonce, '--gateway', e.gateway, '--trusted-ak', ak]);
      // Enrolled for another gateway: refused, naming both (no --seen: the nonce may be tried again).
      const elsewhere = await verify(`${'ee'.repeat(32)}:${e.ak_name}`);
      expect(elsewhere.code).toBe(1);
      expect(elsewhere.out).toContain(`which is enrolled for gateway ${'ee'.repeat(32)}, not for ${e.gateway}`);
      const pinned = await verify(`${e.gateway}:${e.ak_name}`);
      expect(pinned.out).toMatch(/ok +key_origin +TPM quote by AK/);
      expect([pinned.code, pinned.out]).toEqual([0, expect.stringContaining('appraisal: PASS')]);
    } finally {
      await tpm.stop();
    }
  }, 60_000);
});
