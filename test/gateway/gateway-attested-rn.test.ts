// The gateway process against an RN process run with --require-attestation: after attaching, the
// gateway sends evidence from its real Attester bound to the attachment (CONTROL ATTEST), the RN
// checks presence, signer and binding (never the claims) and only then lets operators reach it.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeArtefactFile } from '../../src/files/artefact-file.js';
import { writeKeyFile } from '../../src/files/keyfile.js';
import { encodeTrustAnchor } from '../../src/files/trust-anchor.js';
import { SlotChannel } from '../../src/operator/slot-channel.js';
import { EchoDevice } from '../../src/sim/echo-device.js';
import { PtyPair } from '../../src/sim/pty.js';
import { openSerial } from '../../src/sim/serial-open.js';
import { toHex } from '../../src/uzp/bytes.js';
import { Endpoint } from '../../src/uzp/endpoint.js';
import type { Identity } from '../../src/uzp/identity/identity.js';
import { RnLink } from '../../src/uzp/link/rn-link.js';
import { TestDomain, type Member } from '../helpers/domain.js';
import { spawnCli, stopAll, waitForJsonLine, type Child } from '../helpers/processes.js';
import { until } from '../uzp/link/wait.js';

let dir: string;
let d: TestDomain;
let rnId: Identity;
let rn: Child;
let rnAddress: string;
let gw: Member;
const cleanups: (() => unknown)[] = [];

function rnEvents(name: string): Record<string, unknown>[] {
  return rn
    .stderr()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((v) => v.event === name);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'uzp-gw-att-'));
  d = new TestDomain(undefined, Date.now()); // the RN child checks the evidence window against the real clock
  rnId = d.member('rn').id;
  gw = d.member('gateway');
  writeFileSync(join(dir, 'trust.json'), encodeTrustAnchor({ domain: 'gw', rootPublicKey: d.root.publicKey, rootCid: d.root.cid }));
  writeKeyFile(join(dir, 'rn.key'), rnId);
  rn = spawnCli(['rn', '--listen', '127.0.0.1:0', '--trust', join(dir, 'trust.json'), '--key', join(dir, 'rn.key'), '--require-attestation', '--log-level', 'info']);
  rnAddress = (await waitForJsonLine<{ event: string; address: string }>(rn, (v) => v.event === 'listening')).address;

  writeKeyFile(join(dir, 'gw.key'), gw.id);
  writeArtefactFile(join(dir, 'gw.pcert'), gw.pcert);
  writeArtefactFile(join(dir, 'rn-set.uzp'), d.rnSet([{ id: rnId, addresses: [rnAddress] }]));
  mkdirSync(join(dir, 'pty'));
  mkdirSync(join(dir, 'dev'));
  const pty = await PtyPair.open({ linkA: join(dir, 'pty', 'tty-2'), linkB: join(dir, 'dev', 'tty-2') });
  cleanups.push(() => pty.close());
  const devicePort = await openSerial(pty.linkB, 115200);
  new EchoDevice(devicePort);
  cleanups.push(() => new Promise<void>((r) => devicePort.close(() => r())));
  writeFileSync(
    join(dir, 'gateway.json'),
    JSON.stringify({
      kind: 'uzp-gw/gateway-config',
      identity: { key: 'gw.key', pcert: 'gw.pcert' },
      trust: { anchor: 'trust.json', rn_set: 'rn-set.uzp', revocations: [] },
      board: 'virtual',
      virtual_dir: 'pty',
      slots: { 'tty-2': { device: { id: 'echo-1', driver: 'serial-raw', serial: { baud: 115200 } } } },
    }),
  );
  spawnCli(['gateway', '--config', join(dir, 'gateway.json'), '--log-level', 'info']);
});

afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
});

describe('uzpgw gateway -> uzpgw rn --require-attestation', () => {
  it('the gateway attests its attachment with its real evidence, then an operator session reaches the slot', async () => {
    // The first evidence waits for the bundle measurement; the vitest timeout bounds the wait.
    await until(() => rnEvents('attested').length > 0 || rnEvents('attest_refused').length > 0, 'gateway attested');
    expect(rnEvents('attest_refused')).toEqual([]);
    expect(rnEvents('attested')[0]).toMatchObject({ cid: toHex(gw.id.cid), key_origin: 'software' });

    const op = d.member('operator');
    const trust = d.trust();
    trust.setRnSet(d.rnSet([{ id: rnId, addresses: [rnAddress] }]));
    const link = await RnLink.attach({ address: rnAddress, trust, identity: { seed: op.id.seed, pcert: op.pcert } });
    cleanups.push(() => link.close());
    const session = await new Endpoint({ trust, identity: { cid: op.id.cid, signer: op.id.signer, pcert: op.pcert }, link }).connect(
      gw.id.cid,
      d.grant(op.id.cid, gw.id.cid, { purposes: [{ purpose: 'serial.read' }, { purpose: 'serial.write' }], slot: 'tty-2' }),
    );
    cleanups.push(() => session.close());
    const slot = await SlotChannel.open(session, 'tty-2', 'serial');
    const back = new Promise<string>((resolve) => slot.on('data', (b: Uint8Array) => resolve(new TextDecoder().decode(b))));
    await slot.write(new TextEncoder().encode('x'));
    expect(await back).toBe('x');
  });
});
