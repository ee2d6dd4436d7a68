// Chaos (issue #11 acceptance): three real RN processes, a real `uzpgw gateway` with the demo's
// equipment (a Modbus RTU bus with two TH-20 sensors and a meter at 19200 8E1, a line sensor at
// 9600 baud, each on a socat PTY paced at its line rate) and three `uzpgw connect` operators: tail
// on both serial slots, and modbus-tcp on the bus, driven by a raw Modbus TCP client here. The RN
// carrying the tail session is killed (SIGKILL, then restarted on its port) ten times and stopped
// (SIGSTOP, a blackholed path) twice. No process of ours is restarted; every reading arrives
// exactly once and in order (seq checked per slot), every Modbus request gets its own answer once,
// in order; the re-stitch times are printed.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoGatewayConfig } from '../../src/demo/gateway-config.js';
import { openSerialEquipment, type SerialEquipment } from '../../src/demo/hosts.js';
import { METER_ENERGY_ADDR, METER_UNIT, MODBUS_SLOT, MQTT_SLOT, SERIAL_SLOT } from '../../src/demo/equipment.js';
import { writeArtefactFile } from '../../src/files/artefact-file.js';
import { writeKeyFile } from '../../src/files/keyfile.js';
import { encodeTrustAnchor } from '../../src/files/trust-anchor.js';
import { toHex } from '../../src/uzp/bytes.js';
import type { Identity } from '../../src/uzp/identity/identity.js';
import { TestDomain } from '../helpers/domain.js';
import { signalProcess, spawnCli, stopAll, stopProcess, waitForJsonLine, type Child } from '../helpers/processes.js';
import { until } from '../uzp/link/wait.js';
import { freeLoopbackPort } from '../helpers/free-port.js';

const KILLS = 10;
const STOPS = 2;

interface Rn {
  readonly id: Identity;
  readonly port: number;
  child: Child;
}

let dir: string;
let equipment: SerialEquipment;
const rns: Rn[] = [];
const f = (n: string): string => join(dir, n);

function startRn(i: number, port: number): Child {
  return spawnCli(['rn', '--listen', `127.0.0.1:${port}`, '--trust', f('trust.json'), '--key', f(`rn${i}.key`), '--log-level', 'warn']);
}


/** JSON lines of a child's stream so far. */
function lines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** The RN (CID hex) the operator's session is on now: from its connected / restitched notices. */
function currentRn(op: Child): string | undefined {
  let rn: string | undefined;
  for (const v of lines(op.stderr())) if ((v.event === 'connected' || v.event === 'restitched') && typeof v.rn === 'string') rn = v.rn;
  return rn;
}

/**
 * A Modbus TCP client that sends one request at a time (transaction ids 1, 2, ...) and checks that
 * each answer is the answer to that request: a lost one stalls it, a duplicate shows up as a wrong id.
 */
class SequentialModbusClient {
  answered = 0;
  errors: string[] = [];
  /** 0x0B "target device failed to respond": the RTU slave missed a poll (the bus, not the path). */
  deviceTimeouts = 0;
  private tid = 0;
  private stopped = false;
  private buf = Buffer.alloc(0);
  private waiting: ((b: Buffer) => void) | undefined;

  constructor(private readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      while (this.buf.length >= 6 && this.buf.length >= 6 + this.buf.readUInt16BE(4)) {
        const n = 6 + this.buf.readUInt16BE(4);
        const frame = this.buf.subarray(0, n);
        this.buf = this.buf.subarray(n);
        const w = this.waiting;
        this.waiting = undefined;
        if (w === undefined) this.errors.push(`unsolicited answer tid ${frame.readUInt16BE(0)}`);
        else w(frame);
      }
    });
  }

  async run(): Promise<void> {
    while (!this.stopped) {
      const tid = ++this.tid & 0xffff;
      const req = Buffer.from([tid >> 8, tid & 0xff, 0, 0, 0, 6, METER_UNIT, 0x03, METER_ENERGY_ADDR >> 8, METER_ENERGY_ADDR & 0xff, 0, 2]);
      const answer = new Promise<Buffer>((r) => (this.waiting = r));
      this.socket.write(req);
      const a = await answer;
      if (a.readUInt16BE(0) !== tid) this.errors.push(`answer tid ${a.readUInt16BE(0)} for request ${tid}`);
      else if (a[7] === 0x83 && a[8] === 0x0b) this.deviceTimeouts++;
      else if (a[7] !== 0x03) this.errors.push(`exception 0x${a[8]?.toString(16)} for request ${tid}`);
      else this.answered++;
    }
  }

  stop(): void {
    this.stopped = true;
  }
}

let gateway: Child;
let tailBus: Child;
let tailLine: Child;
let modbusOp: Child;
let client: SequentialModbusClient;
let clientSocket: Socket;
let clientDone: Promise<void>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'uzp-chaos-'));
  const d = new TestDomain(undefined, Date.now());
  writeFileSync(f('trust.json'), encodeTrustAnchor({ domain: 'chaos', rootPublicKey: d.root.publicKey, rootCid: d.root.cid }));
  for (let i = 0; i < 3; i++) {
    const id = d.member('rn').id;
    writeKeyFile(f(`rn${i}.key`), id);
    const port = await freeLoopbackPort();
    const child = startRn(i, port);
    await waitForJsonLine(child, (v) => v.event === 'listening');
    rns.push({ id, port, child });
  }
  writeArtefactFile(f('rn-set.uzp'), d.rnSet(rns.map((r) => ({ id: r.id, addresses: [`127.0.0.1:${r.port}`] }))));
  const gw = d.member('gateway');
  const op = d.member('operator');
  writeKeyFile(f('gw.key'), gw.id);
  writeArtefactFile(f('gw.pcert'), gw.pcert);
  writeKeyFile(f('op.key'), op.id);
  writeArtefactFile(f('op.pcert'), op.pcert);
  mkdirSync(f('pty'));
  equipment = await openSerialEquipment(f('pty'), true);
  expect(equipment.choice.used).toBe('socat');
  const config = demoGatewayConfig({ gatewayKey: 'gw.key', gatewayPcert: 'gw.pcert', trust: 'trust.json', rnSet: 'rn-set.uzp' }, 'mqtt://127.0.0.1:1');
  delete (config.slots as Record<string, unknown>)[MQTT_SLOT.slot];
  writeFileSync(f('gateway.json'), JSON.stringify(config));
  gateway = spawnCli(['gateway', '--config', f('gateway.json'), '--log-level', 'info']);
  await waitForJsonLine(gateway, (v) => v.event === 'rn.attached');
  writeArtefactFile(f('bus.grant'), d.grant(op.id.cid, gw.id.cid, { slot: MODBUS_SLOT.slot, purposes: [{ purpose: 'modbus.read', tables: ['holding', 'input', 'coils', 'discrete'] }] }));
  writeArtefactFile(f('line.grant'), d.grant(op.id.cid, gw.id.cid, { slot: SERIAL_SLOT.slot, purposes: [{ purpose: 'serial.read' }] }));
  const session = (grant: string): string[] => ['--key', f('op.key'), '--pcert', f('op.pcert'), '--trust', f('trust.json'), '--rn-set', f('rn-set.uzp'), '--grant', f(grant), '--gateway', toHex(gw.id.cid), '--json'];
  tailBus = spawnCli(['connect', 'tail', ...session('bus.grant'), '--slot', MODBUS_SLOT.slot]);
  tailLine = spawnCli(['connect', 'tail', ...session('line.grant'), '--slot', SERIAL_SLOT.slot]);
  const listen = `127.0.0.1:${await freeLoopbackPort()}`;
  modbusOp = spawnCli(['connect', 'modbus-tcp', ...session('bus.grant'), '--slot', MODBUS_SLOT.slot, '--listen', listen]);
  await until(() => [tailBus, tailLine, modbusOp].every((c) => /"event":"connected"/.test(c.stderr())), 'three operators connected');
  const [host, port] = listen.split(':');
  clientSocket = connect({ host: host!, port: Number(port) });
  await new Promise((r) => clientSocket.once('connect', r));
  client = new SequentialModbusClient(clientSocket);
  clientDone = client.run();
}, 60_000);

afterAll(async () => {
  try {
    client?.stop();
    clientSocket?.destroy();
    // A stopped RN must run again to take its SIGTERM; one already gone is skipped.
    for (const r of rns) if (r.child.proc.exitCode === null && r.child.proc.signalCode === null) signalProcess(r.child, 'SIGCONT');
  } finally {
    await stopAll();
    await equipment?.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

/** until(), but after `ms` it fails saying what every process said last (a hung step is named). */
async function within(ms: number, cond: () => boolean, what: string): Promise<void> {
  const deadline = performance.now() + ms;
  await until(() => cond() || performance.now() > deadline, what);
  if (cond()) return;
  const tails = [gateway, tailBus, tailLine, modbusOp].map((c) => c.stderr().split('\n').slice(-8).join('\n'));
  throw new Error(`${what}: not within ${ms} ms\n${tails.join('\n---\n')}\nmodbus answered ${client.answered}, errors ${client.errors.join('; ')}`);
}

/** Readings of one tail so far: seq must go up by exactly one (no loss, no duplicate, in order). */
function seqs(op: Child): number[] {
  return lines(op.stdout())
    .filter((v) => v.event === 'reading')
    .map((v) => v.seq as number);
}

describe('chaos: RNs killed and blackholed under live operators (issue #11)', () => {
  it(`${KILLS} SIGKILLs and ${STOPS} SIGSTOPs of the active RN: no restart, everything once and in order`, async () => {
    const restitchMs: { fault: string; ms: number }[] = [];
    const restitchesSoFar = (): number => lines(tailBus.stderr()).filter((v) => v.event === 'restitched').length;
    for (let k = 0; k < KILLS + STOPS; k++) {
      const stop = k >= KILLS;
      // Let traffic flow on the current path first: a reading on each tail, answers on the bus.
      const [bus0, line0, ans0] = [seqs(tailBus).length, seqs(tailLine).length, client.answered];
      await within(15_000, () => seqs(tailBus).length > bus0 && seqs(tailLine).length > line0 && client.answered > ans0 + 3, `traffic before fault #${k + 1}`);
      const rnHex = currentRn(tailBus);
      const victim = rns.find((r) => toHex(r.id.cid) === rnHex);
      expect(victim, `tail session on a known RN (${rnHex})`).toBeDefined();
      const before = restitchesSoFar();
      const t0 = performance.now();
      signalProcess(victim!.child, stop ? 'SIGSTOP' : 'SIGKILL');
      await within(15_000, () => restitchesSoFar() > before, `re-stitch after ${stop ? 'SIGSTOP' : 'SIGKILL'} #${k + 1}`);
      restitchMs.push({ fault: stop ? 'SIGSTOP' : 'SIGKILL', ms: Math.round(performance.now() - t0) });
      if (stop) signalProcess(victim!.child, 'SIGCONT');
      else {
        victim!.child = startRn(rns.indexOf(victim!), victim!.port);
        await waitForJsonLine(victim!.child, (v) => v.event === 'listening');
      }
    }
    // Traffic after the last fault, then the checks.
    const [bus1, line1, ans1] = [seqs(tailBus).length, seqs(tailLine).length, client.answered];
    await within(15_000, () => seqs(tailBus).length > bus1 + 2 && seqs(tailLine).length > line1 + 2 && client.answered > ans1 + 10, 'traffic after the last fault');
    client.stop();
    await clientDone;
    console.log(JSON.stringify({ restitch_ms: restitchMs, readings: { bus: seqs(tailBus).length, line: seqs(tailLine).length }, modbus_answers: client.answered, modbus_device_timeouts: client.deviceTimeouts }));
    for (const op of [tailBus, tailLine]) {
      const s = seqs(op);
      const gaps = s.slice(1).flatMap((v, i) => (v === s[i]! + 1 ? [] : [`${s[i]} -> ${v}`]));
      expect(gaps, 'reading seq must step by one').toEqual([]);
    }
    expect(client.errors).toEqual([]);
    // No process restarted: the gateway and every operator are the ones started at the beginning.
    for (const c of [gateway, tailBus, tailLine, modbusOp]) expect(c.proc.exitCode, c.stderr().slice(-2000)).toBeNull();
    expect(lines(tailBus.stderr()).filter((v) => v.event === 'session_ended')).toEqual([]);
  }, 150_000);

  it('a gateway that restarted refuses the re-stitch; the tail operator opens a fresh session by itself', async () => {
    const connectedBefore = lines(tailLine.stderr()).filter((v) => v.event === 'connected').length;
    const readingsBefore = seqs(tailLine).length;
    await stopProcess(gateway, 'SIGKILL');
    gateway = spawnCli(['gateway', '--config', f('gateway.json'), '--log-level', 'info']);
    await within(30_000, () => lines(tailLine.stderr()).filter((v) => v.event === 'connected').length > connectedBefore, 'a fresh session after the gateway restart');
    const said = lines(tailLine.stderr()).map((v) => v.event);
    expect(said).toContain('reopening');
    await within(15_000, () => seqs(tailLine).length > readingsBefore + 1, 'readings from the restarted gateway');
    expect(tailLine.proc.exitCode).toBeNull();
  }, 60_000);
});
