// `uzpgw rn --rn-set FILE --revocations FILE` as a child process (src/rn/artefact-files.ts): the
// files are offered to an attaching EP, a replaced file reaches attached EPs at once, an older file
// (SIGHUP) is refused and keeps the one held.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeArtefactFile } from '../../src/files/artefact-file.js';
import { writeKeyFile } from '../../src/files/keyfile.js';
import { encodeTrustAnchor } from '../../src/files/trust-anchor.js';
import { decodeEnvelope } from '../../src/uzp/artefacts/envelope.js';
import { toHex } from '../../src/uzp/bytes.js';
import type { Identity } from '../../src/uzp/identity/identity.js';
import { RnLink } from '../../src/uzp/link/rn-link.js';
import { TestDomain } from '../helpers/domain.js';
import { signalProcess, spawnCli, stopAll, waitForJsonLine, type Child } from '../helpers/processes.js';
import { until } from '../uzp/link/wait.js';

let dir: string;
let d: TestDomain;
let rnId: Identity;
let rn: Child;
let address: string;
const at = (f: string): string => join(dir, f);
const idOf = (b: Uint8Array): string => toHex(decodeEnvelope(d.provider, b).objectId);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'uzp-rn-files-'));
  d = new TestDomain(undefined, Date.now());
  rnId = d.member('rn').id;
  writeFileSync(at('trust.json'), encodeTrustAnchor({ domain: 'files', rootPublicKey: d.root.publicKey, rootCid: d.root.cid }));
  writeKeyFile(at('rn.key'), rnId);
  // The RN is listed at a placeholder address: its own statement only has to be valid to be held.
  writeArtefactFile(at('rn-set.uzp'), d.rnSet([{ id: rnId, addresses: ['127.0.0.1:1'] }]));
  writeArtefactFile(at('revocations.uzp'), d.revocation([]));
  rn = spawnCli(['rn', '--listen', '127.0.0.1:0', '--trust', at('trust.json'), '--key', at('rn.key'), '--rn-set', at('rn-set.uzp'), '--revocations', at('revocations.uzp'), '--log-level', 'info']);
  address = (await waitForJsonLine<{ address: string }>(rn, (v) => v.event === 'listening')).address;
});

const links: RnLink[] = [];
afterAll(async () => {
  for (const l of links) l.close();
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
});

async function listen(): Promise<string[]> {
  const trust = d.trust();
  trust.setRnSet(d.rnSet([{ id: rnId, addresses: [address] }]));
  const m = d.member('gateway');
  const link = await RnLink.attach({ address, trust, identity: { seed: m.id.seed, pcert: m.pcert } });
  links.push(link);
  const got: string[] = [];
  link.on('artefact', (b) => got.push(idOf(b)));
  return got;
}

const logged = (event: string): number => rn.stderr().split(`"event":"${event}"`).length - 1;

describe('uzpgw rn --rn-set / --revocations', () => {
  let got: string[];

  it('offers both files to an attaching endpoint', async () => {
    got = await listen();
    await until(() => got.length === 2, 'two artefacts after OK');
  });

  it('a replaced file is adopted and offered to the attached endpoint at once', async () => {
    const newer = d.rnSet([{ id: rnId, addresses: ['127.0.0.1:2'] }]);
    writeArtefactFile(at('rn-set.uzp'), newer);
    await until(() => got.length === 3, 'the newer statement offered');
    expect(got[2]).toBe(idOf(newer));
    expect(logged('rn_set_reloaded')).toBeGreaterThan(0);
    expect(logged('artefact_offered')).toBeGreaterThan(0);
  });

  it('an older file (SIGHUP) is refused, and the one held stays what a new endpoint gets', async () => {
    const before = logged('rn_set_reload_failed');
    const stale = d.rnSet([{ id: rnId, addresses: ['127.0.0.1:3'] }]);
    const newest = d.rnSet([{ id: rnId, addresses: ['127.0.0.1:4'] }]);
    writeArtefactFile(at('rn-set.uzp'), newest);
    await until(() => got.length === 4);
    writeArtefactFile(at('rn-set.uzp'), stale);
    signalProcess(rn, 'SIGHUP');
    await until(() => logged('rn_set_reload_failed') > before, 'stale statement refused');
    expect(rn.stderr()).toContain('ARTEFACT_STALE_SEQUENCE');
    const fresh = await listen();
    await until(() => fresh.length === 2);
    expect(fresh).toContain(idOf(newest));
    expect(got).toHaveLength(4);
  });
});
