// modbus-polls: closed-loop polls/s (FC 3, 10 holding registers, one request in flight) on
// baud-paced virtual buses, against the spec's line limit: one transaction = request 8 + reply 25
// characters + two t3.5 silences (Modbus over Serial Line v1.02 §2.5.1.1; t3.5 = 1.75 ms above
// 19200 baud, 3.5 characters at and below), at the bus's character format (8N1 = 10 bits, 8E1 = 11):
//   115200 8N1: 33 x 10 / 115200 s + 3.5 ms = 6.36 ms, 157 polls/s
//   19200 8E1:  33 x 11 / 19200 s + 2 x 2.005 ms = 22.92 ms, 43.6 polls/s
// Higher is better; ratio = achieved / spec_line_limit (goal >= 0.95).
//   polls_per_s_115200           the gateway's RTU master code (SerialLink + ModbusBus.rtu from dist/)
//   polls_per_s_19200            the same on a 19200 8E1 bus
//   polls_per_s_tunneled_115200  an operator through RN + gateway process, one request in flight
//   direct_transaction_ms        1000 / polls_per_s_115200 vs the spec transaction time (goal <= 1.1)
// See docs/BENCH.md.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { rtuTransactionMs, t35Ms } from '../dist/ports/line-timing.js';
import { QUICK, emit, log, median, runBench, tempDir } from './lib/harness.mjs';
import { READ_10, gatewayPolled, REGISTERS, checkRead10, directMaster, gatewayFiles, modbusSlot, operatorSlot, startGateway, startSimHost, writeGatewayConfig } from './lib/hil.mjs';
import { startUzp } from './lib/topology.mjs';

const BENCH = 'modbus-polls';
const ROUNDS = QUICK ? 1 : 3;
const ROUND_MS = QUICK ? 1500 : 4000; // per mode per round
const REQUEST_BYTES = 8;
const REPLY_BYTES = 5 + 2 * REGISTERS;

/**
 * Diagnostic, outside the timed rounds: `n` reads by a direct master, each timed from the master's
 * side: request written -> its reply's last chunk read (the line, the simulator and the virtual
 * line's PTY hops), and that chunk -> the next request written (the master's t3.5 wait and its own
 * work). Medians in ms. docs/BENCH.md "where a 115200 poll's time goes".
 */
async function masterTimeline(master, read, n) {
  let writtenAt = 0;
  let lastChunkAt = 0;
  const write = master.link.write.bind(master.link);
  master.link.write = (b) => ((writtenAt = performance.now()), write(b));
  const onData = () => (lastChunkAt = performance.now());
  master.link.on('data', onData);
  const toLastChunk = [];
  const toNextRequest = [];
  try {
    let prevChunk = null;
    for (let i = 0; i < n; i++) {
      await read();
      if (prevChunk !== null) toNextRequest.push(writtenAt - prevChunk);
      toLastChunk.push(lastChunkAt - writtenAt);
      prevChunk = lastChunkAt;
    }
  } finally {
    master.link.off('data', onData);
    master.link.write = write;
  }
  return { toLastChunk: median(toLastChunk), toNextRequest: median(toNextRequest) };
}

/** Closed loop: one read in flight for `ms`; returns polls/s. */
async function closedLoop(read, ms) {
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    await read();
    n++;
  }
  return (n * 1000) / (performance.now() - t0);
}

await runBench(BENCH, async () => {
  const dir = tempDir('uzp-bench-mbp-');
  const vdir = join(dir, 'vdev');
  mkdirSync(vdir);
  const uzp = await startUzp(dir);
  const sim = await startSimHost();
  // A 115200 8N1 bus (units 1 and 2) reachable from two PTYs whose masters take turns (sim-host.mjs
  // busSwitch): the gateway's rs485-1 and a local master. A 19200 8E1 bus with one local master.
  const { paths } = await sim.rpc('modbusBus', { dir: vdir, names: ['rs485-1', 'direct-1'], baud: 115_200, slaves: [{ unit: 1, holding: 20 }, { unit: 2, holding: 20 }] });
  const { paths: paths19 } = await sim.rpc('modbusBus', { dir: vdir, names: ['direct-19200'], baud: 19_200, framing: '8E1', slaves: [{ unit: 1, holding: 20 }] });
  const { member: gw, files } = gatewayFiles(dir, uzp);
  const config = writeGatewayConfig(dir, 'gw-polls', files, vdir, { 'rs485-1': modbusSlot('bus-1', { baud: 115_200, units: [1, 2] }) });
  await startGateway('gateway', config, { steady: true });
  await gatewayPolled(sim, 'rs485-1', 1); // its start-up poll, before any master shares the bus
  const op = await operatorSlot(uzp, gw.cid, 'rs485-1', 'modbus', [{ purpose: 'modbus.read', units: [1] }]);
  const master = await directMaster(paths[1], 115_200);
  const master19 = await directMaster(paths19[0], 19_200, { parity: 'even' });

  const modes = {
    direct_115200: async () => checkRead10(await master.bus.request(1, READ_10), 'master 115200'),
    direct_19200: async () => checkRead10(await master19.bus.request(1, READ_10), 'master 19200'),
    tunneled_115200: async () => checkRead10((await op.slot.modbus(1, READ_10)).pdu, 'tunneled'),
  };
  const names = Object.keys(modes);
  for (const n of names) await closedLoop(modes[n], 300); // warm-up
  const rates = Object.fromEntries(names.map((n) => [n, []]));
  // The direct masters run in this process: its CPU time per poll is what a master costs (the wait
  // for t3.5 yields to the event loop for its last fraction of a millisecond; ports/modbus/rtu-transport.ts).
  const cpuPerPoll = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < ROUNDS; r++) {
    const order = names.map((_, i) => names[(i + r) % names.length]);
    for (const n of order) {
      const c0 = process.cpuUsage();
      const rate = await closedLoop(modes[n], ROUND_MS);
      const c = process.cpuUsage(c0);
      rates[n].push(rate);
      cpuPerPoll[n].push((c.user + c.system) / 1000 / ((rate * ROUND_MS) / 1000));
    }
  }

  const spec115 = rtuTransactionMs(REQUEST_BYTES, REPLY_BYTES, 115_200, '8N1');
  const spec19 = rtuTransactionMs(REQUEST_BYTES, REPLY_BYTES, 19_200, '8E1');
  for (const n of names) log(`${n}: ${rates[n].map((x) => x.toFixed(1)).join(', ')} polls/s; this process's CPU ${cpuPerPoll[n].map((x) => x.toFixed(3)).join(', ')} ms per poll`);
  log(`spec transaction: ${spec115.toFixed(3)} ms at 115200 8N1 (${(1000 / spec115).toFixed(1)}/s), ${spec19.toFixed(3)} ms at 19200 8E1 (${(1000 / spec19).toFixed(1)}/s)`);
  log(`sim: ${JSON.stringify(await sim.rpc('stats'))}`);

  const limit115 = 'spec_line_limit (115200 8N1: 33 chars + 2 x t3.5)';
  emit(BENCH, 'polls_per_s_115200', median(rates.direct_115200), 'polls/s', limit115, 1000 / spec115);
  emit(BENCH, 'polls_per_s_19200', median(rates.direct_19200), 'polls/s', 'spec_line_limit (19200 8E1: 33 chars + 2 x t3.5)', 1000 / spec19);
  emit(BENCH, 'polls_per_s_tunneled_115200', median(rates.tunneled_115200), 'polls/s', limit115, 1000 / spec115);
  emit(BENCH, 'direct_transaction_ms', 1000 / median(rates.direct_115200), 'ms', 'spec transaction time (115200 8N1)', spec115);

  // After the figures are out: a diagnostic that fails says so and costs none of them.
  try {
    const tl = await masterTimeline(master, modes.direct_115200, QUICK ? 100 : 500);
    const t35 = t35Ms(115_200, '8N1');
    log(
      `direct_115200 timeline (medians): request written -> last reply chunk read ${tl.toLastChunk.toFixed(3)} ms (spec ${(spec115 - t35).toFixed(3)}: ` +
        `33 characters and one t3.5), last chunk -> next request written ${tl.toNextRequest.toFixed(3)} ms (spec ${t35.toFixed(3)}: t3.5)`,
    );
  } catch (e) {
    log(`direct_115200 timeline: failed (${e?.message ?? e}); the figures above stand`);
  }

  await op.close();
  await master.close();
  await master19.close();
});
