// The end-to-end check: flash into a temporary root, start the gateway from that tree with
// this machine's node, and appraise its session-bound evidence against the manifest the flash wrote.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readManifestFile } from '../../src/attest/manifest.js';
import { writeKeyFile } from '../../src/files/keyfile.js';
import { toHex } from '../../src/uzp/bytes.js';
import { nodeProvider as p } from '../../src/uzp/crypto/node.js';
import { generateIdentity } from '../../src/uzp/identity/identity.js';
import { spawnCli, stopAll } from '../helpers/processes.js';
import { gatewayConfigJson, startGateway, type GatewaySetup } from './gateway-setup.js';

let dir: string;
let root: string;
let g: GatewaySetup;
const signer = generateIdentity(p);

async function run(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const c = spawnCli(args);
  const { code } = await c.exited;
  return { code, out: c.stdout(), err: c.stderr() };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'uzp-flashed-'));
  root = join(dir, 'rootfs');
  writeFileSync(join(dir, 'gateway.json'), JSON.stringify(gatewayConfigJson()));
  writeKeyFile(join(dir, 'signer.key'), signer);
  const flash = await run(['flash', '--board', 'virtual', '--target', root, '--config', join(dir, 'gateway.json'), '--sign-key', join(dir, 'signer.key')]);
  expect(flash.err).not.toMatch(/error/i);
  expect(flash.code).toBe(0);
  // The installer's part after flashing: the device's files next to its config (first boot would
  // generate the key on the device; here the test domain issues everything).
  g = await startGateway(join(dir, 'work'), { configDir: join(root, 'etc/uzp-gateway'), cli: join(root, 'opt/uzp-gateway/dist/cli/main.js') });
}, 120_000);

afterAll(async () => {
  await stopAll();
  await g?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('a gateway started from a flashed tree', () => {
  it('attests, and its evidence passes appraisal against the manifest written by the flash', async () => {
    const manifest = join(root, 'etc/uzp-gateway/reference-manifest.cbor');
    const m = readManifestFile(p, manifest, { trusted: [signer.cid] }).manifest;
    expect(m.board).toBe('virtual');
    expect(m.node).toEqual([process.version]);
    const r = await run(['connect', ...g.connectArgs, 'attest', '--manifest', manifest, '--manifest-signer', toHex(signer.cid), '--json']);
    expect(r.err).toBe('');
    const result = JSON.parse(r.out) as { ok: boolean; claims: { claim: string; status: string; reason: string }[] };
    expect(result.claims.filter((c) => c.status === 'fail')).toEqual([]);
    expect(result.ok).toBe(true);
    expect(r.code).toBe(0);
    const bundle = result.claims.find((c) => c.claim === 'measurements.bundle')!;
    expect(bundle.reason).toMatch(/^\d+ files, root [0-9a-f]{16}…$/);
  }, 60_000);

  it('a file changed in the installed tree afterwards fails appraisal, naming the part', async () => {
    writeFileSync(join(root, 'opt/uzp-gateway/dist/cli/boards.js'), '// tampered\n', { flag: 'a' });
    const manifest = join(root, 'etc/uzp-gateway/reference-manifest.cbor');
    const r = await run(['connect', ...g.connectArgs, 'attest', '--manifest', manifest, '--manifest-signer', toHex(signer.cid)]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/FAIL measurements\.bundle +bundle differs from the reference: dist\/cli differs/);
  }, 60_000);
});
