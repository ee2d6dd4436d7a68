// A real RN process and a real `uzpgw gateway` process (from this repo or from a flashed tree) with a
// Modbus RTU slot whose slave identifies itself (43/14) on a paced virtual serial line, plus the
// operator's files — for attestation tests that go through every real part.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeArtefactFile } from '../../src/files/artefact-file.js';
import { writeKeyFile } from '../../src/files/keyfile.js';
import { encodeTrustAnchor } from '../../src/files/trust-anchor.js';
import { ModbusRtuBus } from '../../src/sim/modbus-rtu-bus.js';
import { VirtualLine } from '../../src/sim/virtual-line.js';
import { generateIdentity, type Identity } from '../../src/uzp/identity/identity.js';
import { nodeProvider } from '../../src/uzp/crypto/node.js';
import { toHex } from '../../src/uzp/bytes.js';
import { TestDomain, type Member } from '../helpers/domain.js';
import { spawnCli, spawnNode, waitForJsonLine, type Child } from '../helpers/processes.js';

export const SLAVE_IDENTITY = { vendorName: 'ACME', productCode: 'TH-20', revision: '1.4' };

export interface GatewaySetup {
  readonly d: TestDomain;
  readonly gw: Member;
  readonly op: Member;
  readonly gateway: Child;
  readonly line: VirtualLine;
  readonly bus: ModbusRtuBus;
  /** The gateway config file the gateway runs with. */
  readonly config: string;
  /** A manifest signer identity for the test. */
  readonly signer: Identity;
  /** `uzpgw connect` flags for the operator (key … gateway). */
  readonly connectArgs: string[];
  close(): Promise<void>;
}

/** The gateway config used by attestation tests (relative paths: it sits next to its files). */
export function gatewayConfigJson(): object {
  return {
    kind: 'uzp-gw/gateway-config',
    identity: { key: 'gw.key', pcert: 'gw.pcert' },
    trust: { anchor: 'trust.json', rn_set: 'rn-set.uzp' },
    board: 'virtual',
    virtual_dir: 'pty',
    attestation: { tpm: 'off' },
    slots: {
      'rs485-1': {
        device: {
          id: 'th-bus-1',
          driver: 'modbus-poller',
          serial: { baud: 19200 },
          timeout_ms: 500,
          units: [{ unit: 1, registers: [{ name: 'r0', table: 'holding', address: 0, type: 'uint16', poll_interval_ms: 5000 }] }],
        },
      },
    },
  };
}

/** Lifetimes of the gateway's PCert and of the RN Set Statement (default: TestDomain's, one day each). */
interface Lifetimes {
  readonly pcertSeconds?: number;
  readonly rnSetSeconds?: number;
}

/**
 * Starts RN + equipment + gateway. `configDir` holds the gateway config and its files; `cli` is the
 * main.js to run the gateway with (default: this repo's dist); `lifetimes` for expiry tests.
 */
export async function startGateway(dir: string, o: { configDir?: string; cli?: string; lifetimes?: Lifetimes } = {}): Promise<GatewaySetup> {
  const cfgDir = o.configDir ?? dir;
  mkdirSync(dir, { recursive: true });
  mkdirSync(cfgDir, { recursive: true });
  const f = (n: string): string => join(dir, n);
  const c = (n: string): string => join(cfgDir, n);
  const d = new TestDomain(undefined, Date.now());
  const rn = d.member('rn');
  const gw = d.member('gateway', { validSeconds: o.lifetimes?.pcertSeconds });
  const op = d.member('operator');
  writeFileSync(c('trust.json'), encodeTrustAnchor({ domain: 'attest', rootPublicKey: d.root.publicKey, rootCid: d.root.cid }));
  writeKeyFile(f('rn.key'), rn.id);
  const rnChild = spawnCli(['rn', '--listen', '127.0.0.1:0', '--trust', c('trust.json'), '--key', f('rn.key'), '--log-level', 'warn']);
  const rnAddress = (await waitForJsonLine<{ address: string }>(rnChild, (v) => v.event === 'listening')).address;
  writeArtefactFile(c('rn-set.uzp'), d.rnSet([{ id: rn.id, addresses: [rnAddress] }], { validSeconds: o.lifetimes?.rnSetSeconds }));

  mkdirSync(c('pty'), { recursive: true });
  const line = await VirtualLine.open({ baud: 19200, dir: c('pty'), name: 'rs485-1' });
  const bus = new ModbusRtuBus(line.device!, { baud: 19200, slaves: [{ unit: 1, holdingRegisters: [42], identity: SLAVE_IDENTITY }] });

  writeKeyFile(c('gw.key'), gw.id);
  writeArtefactFile(c('gw.pcert'), gw.pcert);
  const config = c('gateway.json');
  writeFileSync(config, JSON.stringify(gatewayConfigJson()));
  const args = ['gateway', '--config', config, '--log-level', 'info'];
  const gateway = o.cli !== undefined ? spawnNode([o.cli, ...args]) : spawnCli(args);
  try {
    await waitForJsonLine(gateway, (v) => v.event === 'rn.attached');
  } catch (e) {
    // The caller never gets close() from a failed start: the virtual line (a socat) stops here.
    bus.close();
    await line.close();
    throw e;
  }

  writeKeyFile(f('op.key'), op.id);
  writeArtefactFile(f('op.pcert'), op.pcert);
  writeArtefactFile(f('op.grant'), d.grant(op.id.cid, gw.id.cid, { slot: 'rs485-1', purposes: [{ purpose: 'modbus.read' }] }));
  const connectArgs = [
    ...['--key', f('op.key'), '--pcert', f('op.pcert'), '--trust', c('trust.json'), '--rn-set', c('rn-set.uzp')],
    ...['--grant', f('op.grant'), '--gateway', toHex(gw.id.cid)],
  ];
  return {
    d,
    gw,
    op,
    gateway,
    line,
    bus,
    config,
    signer: generateIdentity(nodeProvider),
    connectArgs,
    close: async () => {
      bus.close();
      await line.close();
    },
  };
}
