// modbus-polls: polls/s on a baud-paced 115200 8N1 virtual bus, FC 3 reads of 10 holding registers,
// one request in flight (closed loop), vs the line's theoretical limit: request 8 + response 25
// characters + two 3.5-character gaps = 40 characters x 10 bits = 3.47 ms, 288 polls/s
// (FIELD-NOTES). Higher is better; ratio = achieved / theoretical.
//   polls_per_s          the gateway's RTU master code (SerialLink + ModbusBus.rtu, gateway defaults)
//   polls_per_s_t35      the same master with the inter-frame silence at the spec's t3.5 (1.75 ms)
//   polls_per_s_tunneled an operator through RN + gateway process, one request in flight
// See docs/BENCH.md.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { QUICK, emit, log, median, runBench, tempDir } from './lib/harness.mjs';
import { READ_10, checkRead10, directMaster, gatewayFiles, modbusSlot, operatorSlot, pollLineMs, startGateway, startSimHost, writeGatewayConfig } from './lib/hil.mjs';
import { startUzp } from './lib/topology.mjs';

const BENCH = 'modbus-polls';
const BAUD = 115_200;
const ROUNDS = QUICK ? 1 : 3;
const ROUND_MS = QUICK ? 1500 : 4000; // per mode per round
// Modbus over Serial Line v1.02 §2.5.1.1: t3.5 is fixed at 1.750 ms above 19200 baud.
const SPEC_T35_MS = 1.75;

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
  // One simulated bus (units 1 and 2) reachable from three PTYs whose masters take turns: the
  // gateway's rs485-1 and two local masters (sim-host.mjs busSwitch). Each PTY has its own pacer.
  const { paths } = await sim.rpc('modbusBus', { dir: vdir, names: ['rs485-1', 'direct-1', 'direct-2'], baud: BAUD, slaves: [{ unit: 1, holding: 20 }, { unit: 2, holding: 20 }] });
  const { member: gw, files } = gatewayFiles(dir, uzp);
  const config = writeGatewayConfig(dir, 'gw-polls', files, vdir, { 'rs485-1': modbusSlot('bus-1', { baud: BAUD, units: [1, 2] }) });
  await startGateway('gateway', config);
  const op = await operatorSlot(uzp, gw.cid, 'rs485-1', 'modbus', [{ purpose: 'modbus.read', units: [1] }]);
  const master = await directMaster(paths[1], BAUD);
  const masterT35 = await directMaster(paths[2], BAUD, { rtu: { silenceMs: SPEC_T35_MS } });

  const modes = {
    gateway_master: async () => checkRead10(await master.bus.request(1, READ_10), 'master'),
    spec_t35: async () => checkRead10(await masterT35.bus.request(1, READ_10), 'master t3.5'),
    tunneled: async () => checkRead10((await op.slot.modbus(1, READ_10)).pdu, 'tunneled'),
  };
  const names = Object.keys(modes);
  for (const n of names) await closedLoop(modes[n], 300); // warm-up
  const rates = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < ROUNDS; r++) {
    const order = names.map((_, i) => names[(i + r) % names.length]);
    for (const n of order) rates[n].push(await closedLoop(modes[n], ROUND_MS));
  }

  const theoretical = 1000 / pollLineMs(BAUD);
  for (const n of names) log(`${n}: ${rates[n].map((x) => x.toFixed(1)).join(', ')} polls/s`);
  log(`theoretical (40 characters x 10 bits at ${BAUD}): ${theoretical.toFixed(1)} polls/s; with the spec's fixed 1.75 ms t3.5 instead of 3.5 characters: ${(1000 / (pollLineMs(BAUD) - (7 * 10 * 1000) / BAUD + 2 * SPEC_T35_MS)).toFixed(1)} polls/s`);
  log(`sim: ${JSON.stringify(await sim.rpc('stats'))}`);

  const baseline = 'theoretical line limit (115200 8N1, 40 chars/poll)';
  emit(BENCH, 'polls_per_s', median(rates.gateway_master), 'polls/s', baseline, theoretical);
  emit(BENCH, 'polls_per_s_t35', median(rates.spec_t35), 'polls/s', baseline, theoretical);
  emit(BENCH, 'polls_per_s_tunneled', median(rates.tunneled), 'polls/s', baseline, theoretical);

  await op.close();
  await master.close();
  await masterT35.close();
});
