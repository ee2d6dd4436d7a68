// What the demo writes before it starts anything: the throwaway trust domain (checked with the
// TrustStore the RN, gateway and operator use) and a gateway config the schema accepts without a
// warning on board `virtual`.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { demoGatewayConfig } from '../../src/demo/gateway-config.js';
import { DEMO_SLOTS } from '../../src/demo/run.js';
import { FILES, issueGrants } from '../../src/demo/trust-domain.js';
import { createDomain, issueRnSet } from '../../src/hil-runner/domain.js';
import { readArtefactFile } from '../../src/files/artefact-file.js';
import { loadKeyFile } from '../../src/files/keyfile.js';
import { loadTrustAnchor } from '../../src/files/trust-anchor.js';
import { checkConfigText } from '../../src/config/index.js';
import { SlotAuthority } from '../../src/gateway/hil/authority.js';
import { TrustStore } from '../../src/uzp/artefacts/trust.js';
import { fromHex, toHex } from '../../src/uzp/bytes.js';
import { nodeProvider } from '../../src/uzp/crypto/node.js';

const dir = mkdtempSync(join(tmpdir(), 'uzp-demo-domain-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('demo trust domain', () => {
  const now = Date.now();
  const d = createDomain(nodeProvider, dir, now, 'demo');
  const rnSetFile = issueRnSet(nodeProvider, d, '127.0.0.1:40001', now);
  const grants = issueGrants(nodeProvider, d, DEMO_SLOTS.map((s) => s.slot), now);
  const anchor = loadTrustAnchor(nodeProvider, join(dir, FILES.trust));
  const trust = new TrustStore({ provider: nodeProvider, rootPublicKey: anchor.rootPublicKey });

  it('PCerts, RN Set and keys agree with each other under the demo root', () => {
    const gw = loadKeyFile(nodeProvider, join(dir, FILES.gatewayKey));
    const op = loadKeyFile(nodeProvider, join(dir, FILES.operatorKey));
    const rn = loadKeyFile(nodeProvider, join(dir, FILES.rnKey));
    expect(toHex(gw.cid)).toBe(d.gatewayCid);
    expect(toHex(op.cid)).toBe(d.operatorCid);
    trust.validatePCert(readArtefactFile(join(dir, FILES.gatewayPcert)), { role: 'gateway', cid: gw.cid });
    trust.validatePCert(readArtefactFile(join(dir, FILES.operatorPcert)), { role: 'operator', cid: op.cid });
    const set = trust.setRnSet(readArtefactFile(rnSetFile));
    expect(set.body.rns.map((r) => r.addresses)).toEqual([['127.0.0.1:40001']]);
    trust.requireEligibleRn(rn.publicKey);
  });

  it('one Grant per slot, each naming only its slot and only the purposes tail needs', () => {
    expect([...grants.keys()]).toEqual(['rs485-1', 'tty-1', 'net-1']);
    const valid = [...grants.values()].map((f) => trust.validateGrant(readArtefactFile(f), { audience: fromHex(d.gatewayCid), subject: fromHex(d.operatorCid) }));
    expect(valid.map((g) => g.body.nonce)).toEqual([1, 2, 3]); // consecutive: none disables another
    expect(valid.map((g) => g.body.scopes.map((s) => s.slot))).toEqual([['rs485-1'], ['tty-1'], ['net-1']]);
    expect(valid.map((g) => g.body.scopes[0]!.purposes.map((p) => p.purpose))).toEqual([['modbus.read'], ['serial.read'], ['mqtt.subscribe']]);
    // Least authority: the Modbus Grant reads units 1, 2, 7 and nothing else, and writes nothing.
    const modbus = new SlotAuthority(valid[0]!, { slot: 'rs485-1', device: 'th-bus-1' });
    expect(modbus.check({ purpose: 'modbus.read', unit: 7, access: { access: 'read', table: 'holding', addr: 100, count: 2 } }).allowed).toBe(true);
    expect(modbus.check({ purpose: 'modbus.read', unit: 3 }).allowed).toBe(false);
    expect(modbus.check({ purpose: 'modbus.write', unit: 1 }).allowed).toBe(false);
    expect(modbus.check({ purpose: 'modbus.read', unit: 1, access: { access: 'read', table: 'discrete', addr: 0, count: 1 } }).allowed).toBe(false);
    const mqtt = new SlotAuthority(valid[2]!, { slot: 'net-1', device: 'press-2' });
    expect(mqtt.check({ purpose: 'mqtt.subscribe', filter: 'plant/press-2/telemetry/#' }).allowed).toBe(true);
    expect(mqtt.check({ purpose: 'mqtt.subscribe', filter: 'plant/press-2/cmd/#' }).allowed).toBe(false);
  });

  it('the gateway config is valid for board virtual, without warnings', () => {
    const cfg = demoGatewayConfig({ gatewayKey: FILES.gatewayKey, gatewayPcert: FILES.gatewayPcert, trust: FILES.trust, rnSet: FILES.rnSet, audit: 'audit.jsonl' }, 'mqtt://127.0.0.1:1883');
    const r = checkConfigText(JSON.stringify(cfg), join(dir, 'gateway.json'));
    expect(r.issues).toEqual([]);
    expect(r.config!.board).toBe('virtual');
    expect(r.config!.slots.map((s) => [s.id, s.device.id, s.device.driver])).toEqual([
      ['rs485-1', 'th-bus-1', 'modbus-poller'],
      ['tty-1', 'sensor-7', 'serial-line'],
      ['net-1', 'press-2', 'mqtt-bridge'],
    ]);
  });
});
