// `uzpgw attest --json`: the claims are CBOR shown as found, so their byte strings are marked as
// every other command marks them (src/uzp/cbor-marked.ts: hex under `K_hex`, `{"hex": …}` where no
// key names them), and a digest never prints like text. The fields the command names as bytes by
// definition (evidence, gateway, ak_name) stay plain hex: `attest verify --evidence / --gateway /
// --trusted-ak` take them as printed, as pantheon show keeps object_id and issuer plain.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeEvidence } from '../../src/attest/evidence.js';
import { renderEvidence } from '../../src/cli/attest-common.js';
import { writeKeyFile } from '../../src/files/keyfile.js';
import { nodeProvider } from '../../src/uzp/crypto/node.js';
import { toHex } from '../../src/uzp/bytes.js';
import { Fixture } from '../attest/fixtures.js';
import { virtualConfig } from '../config/fixtures.js';
import { runCli as run } from '../helpers/cli-run.js';

const f = new Fixture();
afterAll(() => f.close());
let config: string;
beforeAll(() => {
  config = gatewayConfig();
});

/** A gateway.json `attest` loads: the files its references name exist, the key is the fixture's. */
function gatewayConfig(): string {
  const c = virtualConfig();
  for (const rel of ['keys/gateway.pcert', 'trust/trust.json', 'trust/rn-set.uzp', 'trust/revocations.uzp']) f.write(`gw/${rel}`, '');
  for (const d of ['pty', 'log']) mkdirSync(join(f.dir, 'gw', d), { recursive: true });
  const key = join(f.dir, 'gw/keys/gateway.key');
  mkdirSync(dirname(key), { recursive: true });
  writeKeyFile(key, f.id);
  const file = join(f.dir, 'gw/gateway.json');
  writeFileSync(file, JSON.stringify(c));
  return file;
}

type JsonObject = { [k: string]: unknown };
const HEX = /^([0-9a-f]{2})+$/;

describe('uzpgw attest --json', () => {
  it("marks the claims' byte strings (K_hex) and keeps their text as text; evidence, gateway stay plain hex", async () => {
    const nonce = '5a'.repeat(16);
    const r = await run('attest', '--config', config, '--nonce', nonce, '--json');
    expect([r.code, r.err]).toEqual([0, '']);
    const o = JSON.parse(r.out) as { evidence: string; gateway: string; key_origin: string; claims: JsonObject };
    expect(o.gateway).toBe(toHex(f.id.cid));
    expect(o.evidence).toMatch(HEX);
    const c = o.claims;
    // Byte strings: under K_hex, never under K.
    expect(c).toMatchObject({ eat_nonce_hex: nonce, ueid_hex: `01${o.gateway}`, bootseed_hex: expect.stringMatching(/^[0-9a-f]{64}$/), oemid_hex: expect.stringMatching(HEX) });
    for (const k of ['eat_nonce', 'ueid', 'bootseed', 'oemid']) expect(c).not.toHaveProperty(k);
    const m = c.measurements as JsonObject;
    for (const k of ['lockfile', 'config', 'board']) {
      expect(m).not.toHaveProperty(k);
      expect(m[`${k}_hex`]).toMatch(/^[0-9a-f]{64}$/);
    }
    const bundle = m.bundle as { root_hex: string; files: number; groups: JsonObject[] };
    expect(bundle.root_hex).toMatch(/^[0-9a-f]{64}$/);
    expect(bundle.groups.length).toBeGreaterThan(0);
    for (const g of bundle.groups) expect(g).toEqual({ name: expect.any(String), files: expect.any(Number), root_hex: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(m.runtime).toEqual({ path: expect.stringMatching(/^\//), sha256_hex: expect.stringMatching(/^[0-9a-f]{64}$/) });
    // Text stays text under its own key (the top-level board is the profile id, measurements.board its digest).
    expect(c).toMatchObject({ board: 'virtual', key_origin: 'software', dbgstat: expect.any(String) });
    expect(m.node).toBe(process.version);
    expect((c.submods as Record<string, JsonObject>)['rs485-1']).toMatchObject({ device: 'th-bus-1', driver: 'modbus-poller' });
    // The printed evidence is still what `attest verify --evidence` reads (hex of the CBOR).
    expect(Buffer.from(o.evidence, 'hex').length).toBe(o.evidence.length / 2);
  });

  it('the human output names each digest on its line, as before', async () => {
    const r = await run('attest', '--config', config, '--nonce', '5b'.repeat(16));
    expect([r.code, r.err]).toEqual([0, '']);
    expect(r.out).toMatch(new RegExp(`^evidence for gateway ${toHex(f.id.cid)} \\(\\d+ bytes\\)\\n`));
    expect(r.out).toMatch(/\n {2}bundle \d+ files, root [0-9a-f]{64}\n {2}config [0-9a-f]{64}\n/);
  });

  it("the human output makes text from outside the gateway's code inert: equipment reporting an escape sequence as its vendor", async () => {
    const file = join(f.dir, 'evidence.cbor');
    const r = await run('attest', '--config', config, '--nonce', '5c'.repeat(16), '--out', file);
    expect(r.code).toBe(0);
    const ev = decodeEvidence(nodeProvider, readFileSync(file));
    const [slot, m] = Object.entries(ev.claims.submods)[0]!;
    // What a device answers to an identification request (Modbus FC 43 / 14) and the device tree's model are not ours.
    const hostile = { ...ev, claims: { ...ev.claims, dtmodel: 'Pi\x1b]0;owned\x07', submods: { [slot]: { ...m, identity: { vendor: 'ACME\x1b[2J', product: 'meter\u202e', revision: '1' } } } } };
    const text = renderEvidence(hostile, 1, undefined, undefined);
    // Before: printed as received, the terminal cleared and retitled.
    expect(text).not.toMatch(/[\x00-\x09\x0b-\x1f\u202e]/);
    expect(text).toContain(`slot ${slot}: ${m.device} (${m.driver}) on ${m.port}, reports ACME·`);
  });
});
