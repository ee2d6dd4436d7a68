// modbus-16-slots (issue #13): a gateway polling 16 Modbus RTU slots at once, each a 19200 8E1 bus
// with two slaves polled every 10 ms (more than the line carries, so every bus is kept busy), vs
// the spec's line limit of one bus (request 8 + reply 25 characters + two t3.5: 22.92 ms, 43.6
// transactions/s). What it shows: whether the gateway's event loop, shared by 16 masters, becomes
// the limit. Transactions are counted by the simulated slaves (replies per bus over the window).
//   polls_per_s_16_slots_min   the slowest slot's transactions/s (goal: ratio >= 0.9)
//   polls_per_s_16_slots_mean  the mean over the 16 slots
// The equipment runs in 4 simulator processes (4 buses each) so the simulator is not the limit.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { rtuTransactionMs } from '../dist/ports/line-timing.js';
import { QUICK, emit, log, runBench, sleep, tempDir } from './lib/harness.mjs';
import { REGISTERS, gatewayFiles, modbusSlot, startGateway, startSimHost, writeGatewayConfig } from './lib/hil.mjs';
import { startUzp } from './lib/topology.mjs';

const BENCH = 'modbus-16-slots';
const BAUD = 19_200;
// BENCH_MODBUS_SLOTS=n runs the first n slots only (to see where the per-slot rate starts to fall).
const SLOTS = ['rs485-1', 'rs485-2', 'rs485-3', 'rs485-4', ...Array.from({ length: 12 }, (_, i) => `tty-${i + 1}`)].slice(0, Number(process.env.BENCH_MODBUS_SLOTS ?? 16));
const WARM_MS = QUICK ? 2_000 : 5_000;
const WINDOW_MS = QUICK ? 3_000 : 15_000;

await runBench(BENCH, async () => {
  const dir = tempDir('uzp-bench-mb16-');
  const vdir = join(dir, 'vdev');
  mkdirSync(vdir);
  const uzp = await startUzp(dir);
  const sims = [];
  for (let i = 0; i < 4; i++) sims.push(await startSimHost(`sim-${i + 1}`));
  // Each sim process: 4 buses, one per slot, each with units 1 and 2.
  const owner = new Map();
  for (const [i, slot] of SLOTS.entries()) {
    const sim = sims[i % sims.length];
    // 1 ms delivery batches (a UART FIFO, an FTDI at the 1 ms latency timer): 16 buses in 4 processes
    // would otherwise wake once per character (docs/BENCH.md "16 slots").
    await sim.rpc('modbusBus', { dir: vdir, names: [slot], baud: BAUD, framing: '8E1', batchMs: 1, slaves: [{ unit: 1, holding: REGISTERS }, { unit: 2, holding: REGISTERS }] });
    owner.set(slot, sim);
  }
  const { files } = gatewayFiles(dir, uzp);
  const slots = Object.fromEntries(SLOTS.map((s, i) => [s, modbusSlot(`bus-${i + 1}`, { baud: BAUD, parity: 'even', units: [1, 2], pollMs: 10, timeoutMs: 500 })]));
  const config = writeGatewayConfig(dir, 'gw-16', files, vdir, slots);
  await startGateway('gateway', config, { steady: true });

  /** Replies per slot so far (the simulators count every answered request). */
  const replies = async () => {
    const out = new Map();
    for (const sim of sims) for (const b of (await sim.rpc('stats')).buses) out.set(b.names[0], b.replies);
    return out;
  };
  await sleep(WARM_MS);
  const r0 = await replies();
  const t0 = performance.now();
  await sleep(WINDOW_MS);
  const r1 = await replies();
  const s = (performance.now() - t0) / 1000;
  const rates = SLOTS.map((slot) => ({ slot, perS: ((r1.get(slot) ?? 0) - (r0.get(slot) ?? 0)) / s }));
  const limit = 1000 / rtuTransactionMs(8, 5 + 2 * REGISTERS, BAUD, '8E1');
  log(`per slot (transactions/s, limit ${limit.toFixed(1)}): ${rates.map((r) => `${r.slot} ${r.perS.toFixed(1)}`).join(', ')}`);
  const faults = (await Promise.all(sims.map((x) => x.rpc('stats')))).flatMap((st) => st.buses).map((b) => ({ slot: b.names[0], exceptions: b.exceptions, crcErrors: b.crcErrors, malformed: b.malformed, silent: b.silent }));
  log(`simulated slaves saw: ${JSON.stringify(faults.filter((f) => f.exceptions + f.crcErrors + f.malformed + f.silent > 0))}`);
  const min = Math.min(...rates.map((r) => r.perS));
  const mean = rates.reduce((a, r) => a + r.perS, 0) / rates.length;
  const baseline = 'spec_line_limit of one bus (19200 8E1: 33 chars + 2 x t3.5)';
  emit(BENCH, 'polls_per_s_16_slots_min', min, 'polls/s', baseline, limit);
  emit(BENCH, 'polls_per_s_16_slots_mean', mean, 'polls/s', baseline, limit);
});
