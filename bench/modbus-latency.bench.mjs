// modbus-latency: one Modbus read (FC 3, 10 holding registers of unit 1) tunneled
//   operator (SlotChannel, this process) -> RN process -> gateway process -> RTU slave
// on a baud-paced 115200 8N1 virtual bus, vs the gateway's own RTU master code run locally
// (SerialLink + ModbusBus.rtu from dist/) on the same simulated bus, same request. Lower is better.
// Extra line: the same read through `uzpgw connect modbus-tcp` (a process) from a plain Modbus TCP
// client, i.e. the path a user's SCADA tool takes. See docs/BENCH.md.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, QUICK, emit, log, median, runBench, sleep, spawnNode, tempDir, waitForJsonLine } from './lib/harness.mjs';
import { READ_10, gatewayPolled, checkRead10, directMaster, gatewayFiles, mbapClient, modbusSlot, operatorFiles, operatorSlot, pollLineMs, startGateway, startSimHost, writeGatewayConfig } from './lib/hil.mjs';
import { connect as tcpConnect } from 'node:net';
import { parseAddress } from '../dist/uzp/link/address.js';
import { startRelay, startUzp } from './lib/topology.mjs';

const BENCH = 'modbus-latency';
const BAUD = 115_200;
// Per path. 1,000 so that p99 is the 11th-largest read, not the 2nd (bench review: with 200 a
// direct read's own tail could hide the tunnel's, and added_latency_p99_ms swung 0.1-3.4 ms).
const READS = QUICK ? 30 : 1000;
const WARMUP = QUICK ? 5 : 20;
const BLOCK = 10; // reads per path per turn; the paths take turns so machine load hits all alike
// Pause before every read, outside the timed part: much longer than the RTU master's inter-frame
// silence (t3.5, src/ports/line-timing.ts), so no read waits for the previous one's silence and
// every path is timed from a quiet line.
const GAP_MS = 25;
const PURPOSES = [{ purpose: 'modbus.read', units: [1] }];

const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))];
const fmt = (xs) => `median ${median(xs).toFixed(2)} ms, p10 ${pct(xs, 0.1).toFixed(2)}, p90 ${pct(xs, 0.9).toFixed(2)}`;

await runBench(BENCH, async () => {
  const dir = tempDir('uzp-bench-mbl-');
  const vdir = join(dir, 'vdev');
  mkdirSync(vdir);
  const uzp = await startUzp(dir);
  const sim = await startSimHost();
  // One bus with two slaves (multi-drop), reachable from the gateway's port rs485-1 and from a
  // second PTY for the direct master; they take turns (sim-host.mjs busSwitch).
  const { paths } = await sim.rpc('modbusBus', { dir: vdir, names: ['rs485-1', 'direct-1'], baud: BAUD, slaves: [{ unit: 1, holding: 20 }, { unit: 2, holding: 20 }] });
  const { member: gw, files } = gatewayFiles(dir, uzp);
  const config = writeGatewayConfig(dir, 'gw-latency', files, vdir, { 'rs485-1': modbusSlot('bus-1', { baud: BAUD, units: [1, 2] }) });
  await startGateway('gateway', config, { steady: true });
  await gatewayPolled(sim, 'rs485-1', 1); // its start-up poll, before any master shares the bus

  const op = await operatorSlot(uzp, gw.cid, 'rs485-1', 'modbus', PURPOSES);
  const direct = await directMaster(paths[1], BAUD);
  // Diagnostics (stderr only): the same master on a 921600 bus, where the line time is 8x shorter,
  // shows the fixed cost of the virtual line and the master; a read of a unit the Grant does not
  // cover is refused by the gateway's HIL broker without touching the bus, so it times the tunnel
  // alone (operator -> RN -> gateway -> RN -> operator, E2E crypto and the audit line included).
  const FAST = 921_600;
  const fast = await sim.rpc('modbusBus', { dir: vdir, names: ['fast-1'], baud: FAST, slaves: [{ unit: 1, holding: 20 }] });
  const fastMaster = await directMaster(fast.paths[0], FAST);
  const connect = spawnNode('connect', CLI, ['connect', ...operatorFiles(dir, uzp, gw.cid, 'rs485-1', PURPOSES), 'modbus-tcp', '--listen', '127.0.0.1:0']);
  const { address } = await waitForJsonLine(connect, (v) => v.event === 'listening', 20_000);
  const tcp = await mbapClient(address);
  log(`uzpgw connect modbus-tcp pid ${connect.pid} on ${address}`);

  const paths3 = {
    tunneled: async () => checkRead10((await op.slot.modbus(1, READ_10)).pdu, 'tunneled'),
    direct: async () => checkRead10(await direct.bus.request(1, READ_10), 'direct'),
    modbusTcp: async () => checkRead10(await tcp.request(1, READ_10), 'modbus-tcp'),
  };
  const refusedRoundTrip = async () => {
    const r = await op.slot.modbus(2, READ_10).catch((e) => ({ refused: e?.refusal ?? String(e) }));
    if (r.refused === undefined) throw new Error('a read of unit 2 was not refused: the Grant covers unit 1 only');
  };
  // And the floor under any relayed round trip on this box: 64 bytes through four plain node:net hops
  // (this process -> relay.mjs -> an echo in the simulator's process -> relay -> here), no crypto, no
  // protocol, after the same pause. The tunnel has the same four hops (docs/BENCH.md, eleventh stop).
  const relay = await startRelay();
  await sim.rpc('tcpEcho', { address: relay.relay });
  const floorSock = await new Promise((resolve, reject) => {
    const s = tcpConnect({ ...parseAddress(relay.relay), noDelay: true });
    s.once('connect', () => resolve(s)).once('error', reject);
  });
  const FLOOR_BYTES = new Uint8Array(64).fill(0x5a);
  const floorRoundTrip = () =>
    new Promise((resolve, reject) => {
      let got = 0;
      const onData = (d) => {
        got += d.length;
        if (got >= FLOOR_BYTES.length) (floorSock.off('data', onData), resolve());
      };
      floorSock.on('data', onData);
      floorSock.write(FLOOR_BYTES, (e) => e && reject(e));
    });
  const diag = { fastDirect: async () => checkRead10(await fastMaster.bus.request(1, READ_10), 'direct 921600'), refused: refusedRoundTrip, floor: floorRoundTrip };
  const names = Object.keys(paths3);
  const times = Object.fromEntries(names.map((n) => [n, []]));
  const once = async (name, fns = paths3) => {
    await sleep(GAP_MS);
    const t0 = performance.now();
    await fns[name]();
    return performance.now() - t0;
  };

  for (const n of names) for (let i = 0; i < WARMUP; i++) await once(n);
  for (let turn = 0; times.direct.length < READS; turn++) {
    const order = names.map((_, i) => names[(i + turn) % names.length]);
    for (const n of order) for (let i = 0; i < BLOCK && times[n].length < READS; i++) times[n].push(await once(n));
  }

  const diagTimes = { fastDirect: [], refused: [], floor: [] };
  for (let i = 0; i < (QUICK ? 10 : 40); i++) for (const n of Object.keys(diag)) diagTimes[n].push(await once(n, diag));

  const line = pollLineMs(BAUD) - (2 * 3.5 * 10 * 1000) / BAUD; // request + response characters, no gaps
  for (const n of names) log(`${n}: ${fmt(times[n])} (${times[n].length} reads)`);
  log(`line time of request + response (33 characters, 8N1 at ${BAUD}): ${line.toFixed(2)} ms`);
  const fastLine = ((33 * 10 * 1000) / FAST).toFixed(2);
  log(`diagnostic: direct master at ${FAST} baud (line time ${fastLine} ms): ${fmt(diagTimes.fastDirect)}`);
  log(`diagnostic: tunnel round trip without the bus (a read refused by the HIL broker): ${fmt(diagTimes.refused)}`);
  log(`diagnostic: four plain node:net hops, 64 bytes through a TCP relay and an echo (the floor under any relayed round trip here): ${fmt(diagTimes.floor)}`);
  log(`sim bus: ${JSON.stringify((await sim.rpc('stats')).buses)}`);

  const baseline = 'direct local RTU master (ModbusBus.rtu, same bus)';
  emit(BENCH, 'read_latency', median(times.tunneled), 'ms', baseline, median(times.direct));
  emit(BENCH, 'read_latency_modbus_tcp', median(times.modbusTcp), 'ms', baseline, median(times.direct));
  emit(BENCH, 'read_latency_direct', median(times.direct), 'ms', 'line time of request + response (33 chars 8N1)', line);
  // Issue #13: what the tunnel adds to a read, at the median and at p99 (goals +1 ms and +2 ms).
  // Ratio = the added time over the direct master's percentile.
  const p50 = (xs) => pct(xs, 0.5);
  const p99 = (xs) => pct(xs, 0.99);
  log(`added by the tunnel: p50 ${(p50(times.tunneled) - p50(times.direct)).toFixed(2)} ms (goal <= 1), p99 ${(p99(times.tunneled) - p99(times.direct)).toFixed(2)} ms (goal <= 2)`);
  emit(BENCH, 'added_latency_p50_ms', p50(times.tunneled) - p50(times.direct), 'ms', 'direct local RTU master p50 (same bus)', p50(times.direct));
  emit(BENCH, 'added_latency_p99_ms', p99(times.tunneled) - p99(times.direct), 'ms', 'direct local RTU master p99 (same bus)', p99(times.direct));

  tcp.close();
  floorSock.destroy();
  await op.close();
  await direct.close();
  await fastMaster.close();
});
