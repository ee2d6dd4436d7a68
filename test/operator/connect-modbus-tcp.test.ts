// `uzpgw connect … modbus-tcp` as a real process, driven by an independent Modbus TCP client library
// (modbus-serial, not jsmodbus), through a real RN process and a real `uzpgw gateway` process, to a
// simulated RTU multi-drop bus on a baud-paced virtual serial line (socat PTY).

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ModbusSerial from 'modbus-serial';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeArtefactFile } from '../../src/files/artefact-file.js';
import { writeKeyFile } from '../../src/files/keyfile.js';
import { encodeTrustAnchor } from '../../src/files/trust-anchor.js';
import { ModbusRtuBus } from '../../src/sim/modbus-rtu-bus.js';
import { VirtualLine } from '../../src/sim/virtual-line.js';
import { toHex } from '../../src/uzp/bytes.js';
import { TestDomain } from '../helpers/domain.js';
import { spawnCli, stopAll, waitForJsonLine } from '../helpers/processes.js';

// A CommonJS package with an ESM-style d.ts: at run time the default import is the class itself.
const ModbusRTU = ModbusSerial as unknown as typeof ModbusSerial.default;

let dir: string;
let line: VirtualLine;
let bus: ModbusRtuBus;
let client: InstanceType<typeof ModbusRTU>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'uzp-connect-'));
  const d = new TestDomain(undefined, Date.now());
  const rn = d.member('rn');
  const gw = d.member('gateway');
  const op = d.member('operator');
  const f = (n: string) => join(dir, n);
  writeFileSync(f('trust.json'), encodeTrustAnchor({ domain: 'c', rootPublicKey: d.root.publicKey, rootCid: d.root.cid }));
  writeKeyFile(f('rn.key'), rn.id);
  const rnChild = spawnCli(['rn', '--listen', '127.0.0.1:0', '--trust', f('trust.json'), '--key', f('rn.key'), '--log-level', 'warn']);
  const rnAddress = (await waitForJsonLine<{ address: string }>(rnChild, (v) => v.event === 'listening')).address;
  writeArtefactFile(f('rn-set.uzp'), d.rnSet([{ id: rn.id, addresses: [rnAddress] }]));

  // The equipment: two slaves on one paced RS-485 line.
  mkdirSync(f('pty'));
  line = await VirtualLine.open({ baud: 19200, dir: f('pty'), name: 'rs485-1' });
  bus = new ModbusRtuBus(line.device!, {
    baud: 19200,
    slaves: [
      { unit: 1, holdingRegisters: Array.from({ length: 20 }, (_, i) => 100 + i) },
      { unit: 2, holdingRegisters: Array.from({ length: 20 }, (_, i) => 200 + i) },
    ],
  });

  writeKeyFile(f('gw.key'), gw.id);
  writeArtefactFile(f('gw.pcert'), gw.pcert);
  writeFileSync(
    f('gateway.json'),
    JSON.stringify({
      kind: 'uzp-gw/gateway-config',
      identity: { key: 'gw.key', pcert: 'gw.pcert' },
      trust: { anchor: 'trust.json', rn_set: 'rn-set.uzp' },
      board: 'virtual',
      virtual_dir: 'pty',
      slots: {
        'rs485-1': {
          device: {
            id: 'bus-1',
            driver: 'modbus-poller',
            serial: { baud: 19200 },
            timeout_ms: 500,
            units: [
              { unit: 1, registers: [{ name: 'r0', table: 'holding', address: 0, type: 'uint16', poll_interval_ms: 5000 }] },
              { unit: 2, registers: [{ name: 'r0', table: 'holding', address: 0, type: 'uint16', poll_interval_ms: 5000 }] },
            ],
          },
        },
      },
    }),
  );
  const gwChild = spawnCli(['gateway', '--config', f('gateway.json'), '--log-level', 'info']);
  const attached = waitForJsonLine(gwChild, (v) => v.event === 'rn.attached');

  writeKeyFile(f('op.key'), op.id);
  writeArtefactFile(f('op.pcert'), op.pcert);
  writeArtefactFile(
    f('op.grant'),
    d.grant(op.id.cid, gw.id.cid, { slot: 'rs485-1', purposes: [{ purpose: 'modbus.read' }, { purpose: 'modbus.write', units: [2], registers: [[0, 9]] }] }),
  );
  await attached; // the operator's Join finds the gateway only once it is attached and accepting
  const connect = spawnCli([
    'connect',
    ...['--key', f('op.key'), '--pcert', f('op.pcert'), '--trust', f('trust.json'), '--rn-set', f('rn-set.uzp'), '--grant', f('op.grant')],
    ...['--gateway', toHex(gw.id.cid), '--slot', 'rs485-1', 'modbus-tcp', '--listen', '127.0.0.1:0'],
  ]);
  const listening = await waitForJsonLine<{ address: string }>(connect, (v) => v.event === 'listening');
  client = new ModbusRTU();
  await client.connectTCP('127.0.0.1', { port: Number(listening.address.split(':').at(-1)) });
  client.setTimeout(5000);
}, 30_000);

afterAll(async () => {
  await new Promise<void>((r) => (client ? client.close(() => r()) : r()));
  bus?.close();
  await line?.close();
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
});

describe('connect modbus-tcp end to end (operator process -> RN -> gateway process -> RTU slave)', () => {
  it('reads holding registers of two slaves on one multi-drop line', async () => {
    client.setID(1);
    expect((await client.readHoldingRegisters(0, 4)).data).toEqual([100, 101, 102, 103]);
    client.setID(2);
    expect((await client.readHoldingRegisters(10, 2)).data).toEqual([210, 211]);
  });

  it('writes a register the Grant allows, and the slave holds the new value', async () => {
    client.setID(2);
    await client.writeRegisters(5, [4242, 4343]);
    expect(bus.slave(2)!.register('holdingRegisters', 5)).toBe(4242);
    expect((await client.readHoldingRegisters(5, 2)).data).toEqual([4242, 4343]);
  });

  it('a write the Grant does not allow comes back as a Modbus exception and never reaches the bus', async () => {
    client.setID(1);
    await expect(client.writeRegister(3, 1)).rejects.toMatchObject({ modbusCode: 2 }); // modbus.write names unit 2 only
    client.setID(2);
    await expect(client.writeRegister(15, 1)).rejects.toMatchObject({ modbusCode: 2 }); // outside 0..9
    expect(bus.slave(1)!.register('holdingRegisters', 3)).toBe(103);
    expect(bus.slave(2)!.register('holdingRegisters', 15)).toBe(215);
  });

  it('a unit with no slave on the line answers with gateway exception 0x0B after the timeout', async () => {
    client.setID(9);
    await expect(client.readHoldingRegisters(0, 1)).rejects.toMatchObject({ modbusCode: 11 });
  });
});
