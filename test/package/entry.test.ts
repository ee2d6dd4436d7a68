// The package entry: the session API the README shows ("The session API") is importable by the
// package name and works — an operator and a gateway endpoint, built only from what
// `import … from 'uzp-gateway'` gives, attach outbound to a real RN process and echo a message
// end to end. The artefacts are minted by the test domain and cross as bytes, as files would.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as uzp from 'uzp-gateway';
import pkg from '../../package.json' with { type: 'json' };
import { writeKeyFile } from '../../src/files/keyfile.js';
import { encodeTrustAnchor } from '../../src/files/trust-anchor.js';
import { TestDomain } from '../helpers/domain.js';
import { spawnCli, stopAll, waitForJsonLine } from '../helpers/processes.js';

let dir: string;
let d: TestDomain;
let rnAddress: string;
let rnId: ReturnType<TestDomain['member']>['id'];
const closers: (() => void)[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'uzp-pkg-'));
  d = new TestDomain(undefined, Date.now()); // the RN child validates against the real clock
  writeFileSync(join(dir, 'trust.json'), encodeTrustAnchor({ domain: 'pkg', rootPublicKey: d.root.publicKey, rootCid: d.root.cid }));
  rnId = d.member('rn').id;
  writeKeyFile(join(dir, 'rn.key'), rnId);
  const rn = spawnCli(['rn', '--listen', '127.0.0.1:0', '--trust', join(dir, 'trust.json'), '--key', join(dir, 'rn.key')]);
  rnAddress = (await waitForJsonLine<{ event: string; address: string }>(rn, (v) => v.event === 'listening')).address;
});

afterAll(async () => {
  for (const c of closers) c();
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
});

describe("import … from 'uzp-gateway'", () => {
  it('resolves to the built entry named by package.json exports, with types', () => {
    expect(pkg.exports['.']).toEqual({ types: './dist/index.d.ts', import: './dist/index.js' });
    for (const name of ['RnLink', 'Endpoint', 'Session', 'Channel', 'TrustStore', 'identityFromSeed', 'getProvider', 'CodedError']) {
      expect(typeof (uzp as Record<string, unknown>)[name], name).toBe('function');
    }
  });

  it("runs the README's session example: attach, accept, connect, open a channel, echo", async () => {
    const provider = uzp.getProvider();
    const rnSet = d.rnSet([{ id: rnId, addresses: [rnAddress] }]);
    const trustFor = (): uzp.TrustStore => {
      const t = new uzp.TrustStore({ provider, rootPublicKey: d.root.publicKey });
      t.setRnSet(rnSet);
      return t;
    };
    const gw = d.member('gateway');
    const op = d.member('operator');
    const gwId = uzp.identityFromSeed(provider, gw.id.seed);
    const opId = uzp.identityFromSeed(provider, op.id.seed);

    // responder (the gateway)
    const gwTrust = trustFor();
    const gwLink = await uzp.RnLink.attach({ address: rnAddress, trust: gwTrust, identity: { seed: gw.id.seed, pcert: gw.pcert } });
    closers.push(() => gwLink.close());
    const gwEp = new uzp.Endpoint({ trust: gwTrust, identity: { cid: gwId.cid, signer: gwId.signer, pcert: gw.pcert }, link: gwLink });
    gwEp.accept();
    gwEp.on('session', (session: uzp.Session) => session.on('channel', (ch: uzp.Channel) => ch.on('message', (m: Uint8Array) => ch.trySend(m))));

    // initiator (an operator)
    const opTrust = trustFor();
    const opLink = await uzp.RnLink.attach({ address: rnAddress, trust: opTrust, identity: { seed: op.id.seed, pcert: op.pcert } });
    closers.push(() => opLink.close());
    const opEp = new uzp.Endpoint({ trust: opTrust, identity: { cid: opId.cid, signer: opId.signer, pcert: op.pcert }, link: opLink });
    const session = await opEp.connect(gwId.cid, d.grant(opId.cid, gwId.cid));
    const ch = session.openChannel();
    const echoed = new Promise<Uint8Array>((resolve) => ch.once('message', resolve));
    await ch.send(new TextEncoder().encode('hello'));
    expect(new TextDecoder().decode(await echoed)).toBe('hello');
    expect(uzp.cidToString(gwId.cid)).toBe(uzp.cidToString(gw.id.cid));
  });
});
