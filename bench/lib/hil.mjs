// Shared plumbing of the HIL benches (issue #3): the equipment process (sim-host.mjs), a gateway
// process (`node dist/cli/main.js gateway --config FILE`) on the virtual board, attached to the RN
// of bench/lib/topology.mjs, and an operator session to one of its slots (RnLink + Endpoint +
// SlotChannel from dist/, in the bench process), as test/gateway/gateway-process.test.ts wires them.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { writeArtefactFile } from '../../dist/files/artefact-file.js';
import { writeKeyFile } from '../../dist/files/keyfile.js';
import { SerialLink } from '../../dist/ports/serial.js';
import { ModbusBus } from '../../dist/ports/modbus/bus.js';
import { SlotChannel } from '../../dist/operator/slot-channel.js';
import { Endpoint } from '../../dist/uzp/endpoint.js';
import { RnLink } from '../../dist/uzp/link/rn-link.js';
import { fromHex, peerIdentity, peerTrust, toHex } from './domain.mjs';
import { CLI, LIB, log, profileArgs, spawnNode, waitForJsonLine } from './harness.mjs';

/** VmHWM (peak resident set size since start) of a process in bytes (Linux /proc). */
export function peakRssBytes(pid) {
  const m = /^VmHWM:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmHWM for pid ${pid}`);
  return Number(m[1]) * 1024;
}

/** Modbus function 3, 10 holding registers from address 0: the request every HIL bench sends. */
export const READ_10 = Uint8Array.of(0x03, 0x00, 0x00, 0x00, 0x0a);
export const REGISTERS = 10;

/**
 * Line time of one poll, in ms: request + response characters plus two 3.5-character gaps, at
 * `bitsPerChar` (8N1 = 10). FC 3 for n registers: request 8 bytes (unit, fc, addr, count, CRC),
 * response 5 + 2n bytes (unit, fc, byte count, data, CRC): 8 + 25 + 7 = 40 characters for n = 10.
 */
export function pollLineMs(baud, registers = REGISTERS, bitsPerChar = 10) {
  const chars = 8 + (5 + 2 * registers) + 2 * 3.5;
  return (chars * bitsPerChar * 1000) / baud;
}

/**
 * The equipment process, ready for commands (see sim-host.mjs). The socat pids its lines report
 * are SIGTERMed by pid when this process exits, unless the sim host exited 0 (it then stopped them
 * itself): a bench killed by a signal SIGKILLs its children, and socat would outlive the sim host.
 */
export async function startSimHost(name = 'sim') {
  const p = spawnNode(name, join(LIB, 'sim-host.mjs'), [], { ipc: true, nodeArgs: profileArgs(name) });
  await p.nextEvent((m) => m.event === 'ready', 15_000);
  log(`${name} pid ${p.pid}`);
  const socats = new Set();
  const rpc = p.rpc;
  p.rpc = async (cmd, args, timeoutMs) => {
    const r = await rpc(cmd, args, timeoutMs);
    for (const pid of r?.pids ?? []) socats.add(pid);
    return r;
  };
  p.exited.then(({ code }) => code === 0 && socats.clear());
  process.on('exit', () => {
    for (const pid of socats) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
  });
  return p;
}

/**
 * Writes a gateway's identity and trust files into `dir` and returns { member, files }. `uzp` is
 * what startUzp() returned (its RN's trust.json is in the same directory).
 */
export function gatewayFiles(dir, uzp) {
  const member = uzp.domain.member('gateway');
  const files = { key: join(dir, `gw-${member.cid.slice(0, 8)}.key`), pcert: join(dir, `gw-${member.cid.slice(0, 8)}.pcert`), anchor: join(dir, 'trust.json'), rnSet: join(dir, 'rn-set.uzp') };
  writeKeyFile(files.key, member.identity);
  writeArtefactFile(files.pcert, fromHex(member.pcert));
  writeArtefactFile(files.rnSet, fromHex(uzp.base.rnSet), { overwrite: true });
  return { member, files };
}

/** Writes the gateway config (virtual board; `slots` in the config file's form) and returns its path. */
export function writeGatewayConfig(dir, name, files, virtualDir, slots) {
  mkdirSync(join(dir, 'audit'), { recursive: true });
  const path = join(dir, `${name}.json`);
  writeFileSync(
    path,
    JSON.stringify({
      kind: 'uzp-gw/gateway-config',
      name,
      identity: { key: files.key, pcert: files.pcert },
      trust: { anchor: files.anchor, rn_set: files.rnSet },
      board: 'virtual',
      virtual_dir: virtualDir,
      // Audit lines (one per operator action) go to a file, as on a gateway whose stdout is journald.
      audit: { file: join(dir, 'audit', `${name}.log`) },
      slots,
    }),
  );
  return path;
}

/** Starts `uzpgw gateway` and waits until it is attached to the RN. */
/**
 * Starts `uzpgw gateway`; resolves once it is attached to the RN. With `steady`, also once its
 * one-off start-up measurement of its bundle (BLAKE3 over every installed file, ~3 s of CPU on this
 * dev tree with its node_modules) is over: the timing benches measure the gateway at work, not
 * while it boots (the start-up measurement is logged on stderr with its duration).
 */
export async function startGateway(name, configPath, { nodeArgs = [], steady = false, env } = {}) {
  const proc = spawnNode(name, CLI, ['gateway', '--config', configPath, '--log-level', 'info'], { nodeArgs: [...profileArgs(name), ...nodeArgs], env });
  const measured = steady ? waitForJsonLine(proc, (v) => v.event === 'attest.measured' || v.event === 'attest.measure_failed', 120_000) : undefined;
  await waitForJsonLine(proc, (v) => v.event === 'rn.attached', 20_000);
  log(`${name} pid ${proc.pid} attached to the RN`);
  if (measured !== undefined) log(`${name}: start-up measurement over after ${(await measured).ms?.toFixed?.(0) ?? '?'} ms`);
  return proc;
}

/**
 * Resolves once the bus whose first PTY is `name` has answered `n` requests: the gateway's one-off
 * poll at start (one request, ~1 s after its start-up measurement here). A bench master on another
 * PTY of that bus must not start before it:
 * the bus answers the PTY of the last request (sim-host.mjs busSwitch), so a master request that
 * crosses the gateway's poll loses its reply (modbus-polls failed 4 of 5 runs on 2026-12-06 at the
 * direct master's first request, whenever the gateway's poll came late).
 */
export async function gatewayPolled(sim, name, n, timeoutMs = 20_000) {
  const t0 = Date.now();
  for (;;) {
    const bus = (await sim.rpc('stats')).buses.find((b) => b.names[0] === name);
    if (bus !== undefined && bus.replies >= n) return;
    if (Date.now() - t0 > timeoutMs) throw new Error(`the gateway did not poll bus ${name} ${n} times within ${timeoutMs} ms (replies: ${bus?.replies ?? 'no such bus'})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A Modbus RTU slot on the virtual board: 8N1 unless told (as the bench lines), polls rarely unless told. */
export function modbusSlot(id, { baud, units, pollMs = 86_400_000, timeoutMs = 1000, parity = 'none' }) {
  return {
    device: {
      id,
      driver: 'modbus-poller',
      serial: { baud, parity, stop_bits: 1 },
      timeout_ms: timeoutMs,
      poll_interval_ms: pollMs,
      units: units.map((unit) => ({ unit, registers: [{ name: 'block', table: 'holding', address: 0, count: REGISTERS }] })),
    },
  };
}

/**
 * An operator session to `slot` of the gateway `gwCid` (hex), opened in `mode`, with a fresh
 * operator identity and a Grant for `purposes` on that slot. Returns { slot: SlotChannel, close }.
 */
export async function operatorSlot(uzp, gwCid, slot, mode, purposes) {
  const op = uzp.member('operator');
  const grant = uzp.domain.grant(op.cid, gwCid, { purposes, scope: { slot } });
  const trust = peerTrust(uzp.base.rootPublic, uzp.base.rnSet);
  const me = peerIdentity(op);
  const link = await RnLink.attach({ address: uzp.address, trust, identity: { seed: me.seed, pcert: me.pcert } });
  let session;
  try {
    session = await new Endpoint({ trust, identity: { cid: me.cid, signer: me.signer, pcert: me.pcert }, link }).connect(fromHex(gwCid), fromHex(grant));
    const sc = await SlotChannel.open(session, slot, mode);
    return {
      slot: sc,
      async close() {
        await sc.close().catch(() => {});
        session.close();
        link.close();
      },
    };
  } catch (e) {
    session?.close();
    link.close();
    throw e;
  }
}

/**
 * The gateway's own RTU master code (dist/ports: SerialLink + ModbusBus.rtu) run locally on `path`,
 * with the settings the gateway uses for an RTU slot (equipment.ts: lowLatency, 8N1 here, RS-485
 * direction 'auto' on the virtual board); `rtu` adds RtuTransport options (e.g. silenceMs).
 */
export async function directMaster(path, baud, { timeoutMs = 1000, rtu = {}, parity = 'none' } = {}) {
  const link = new SerialLink({ path, baudRate: baud, dataBits: 8, parity, stopBits: 1, rs485: { direction: 'auto' }, lowLatency: true }).start();
  await link.whenOpen();
  const bus = ModbusBus.rtu(link, { timeoutMs, ...rtu });
  return {
    bus,
    link,
    async close() {
      await bus.close();
      await link.close();
    },
  };
}

/** Checks a FC 3 reply PDU for 10 registers (so a refusal or exception is never timed as a read). */
export function checkRead10(pdu, what) {
  if (pdu.length !== 2 + 2 * REGISTERS || pdu[0] !== 0x03 || pdu[1] !== 2 * REGISTERS) throw new Error(`${what}: unexpected reply ${toHex(pdu)}`);
}

/**
 * A minimal Modbus TCP client (MBAP, Modbus Messaging on TCP/IP v1.0b §3.1) for the loopback
 * endpoint of `uzpgw connect modbus-tcp`: one request in flight; resolves with the reply PDU.
 */
export async function mbapClient(address) {
  const i = address.lastIndexOf(':');
  const sock = connect({ host: address.slice(0, i), port: Number(address.slice(i + 1)), noDelay: true });
  await new Promise((resolve, reject) => sock.once('connect', resolve).once('error', reject));
  let buf = Buffer.alloc(0);
  let waiter = null;
  let tid = 0;
  sock.on('data', (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    if (buf.length < 7) return;
    const len = buf.readUInt16BE(4); // unit id + PDU
    if (buf.length < 6 + len) return;
    const frame = buf.subarray(0, 6 + len);
    buf = buf.subarray(6 + len);
    const w = waiter;
    waiter = null;
    if (w && frame.readUInt16BE(0) === w.tid) w.resolve(new Uint8Array(frame.subarray(7)));
    else if (w) w.reject(new Error(`MBAP reply with transaction ${frame.readUInt16BE(0)}, expected ${w.tid}`));
  });
  sock.on('error', (e) => waiter?.reject(e));
  sock.on('close', () => waiter?.reject(new Error('Modbus TCP connection closed')));
  return {
    request(unit, pdu) {
      tid = (tid + 1) & 0xffff;
      const h = Buffer.alloc(7);
      h.writeUInt16BE(tid, 0);
      h.writeUInt16BE(0, 2);
      h.writeUInt16BE(pdu.length + 1, 4);
      h.writeUInt8(unit, 6);
      return new Promise((resolve, reject) => {
        waiter = { tid, resolve, reject };
        sock.write(Buffer.concat([h, pdu]));
      });
    },
    close: () => sock.destroy(),
  };
}

/** Writes an operator's files (key, PCert, Grant for `purposes` on `slot`) for `uzpgw connect`; returns CLI flags. */
export function operatorFiles(dir, uzp, gwCid, slot, purposes) {
  const op = uzp.domain.member('operator');
  const tag = op.cid.slice(0, 8);
  const f = { key: join(dir, `op-${tag}.key`), pcert: join(dir, `op-${tag}.pcert`), grant: join(dir, `op-${tag}.grant`) };
  writeKeyFile(f.key, op.identity);
  writeArtefactFile(f.pcert, fromHex(op.pcert));
  writeArtefactFile(f.grant, fromHex(uzp.domain.grant(op.cid, gwCid, { purposes, scope: { slot } })));
  return ['--key', f.key, '--pcert', f.pcert, '--trust', join(dir, 'trust.json'), '--rn-set', join(dir, 'rn-set.uzp'), '--grant', f.grant, '--gateway', gwCid, '--slot', slot];
}
