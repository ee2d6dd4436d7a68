// gateway-rss: VmRSS of the gateway process (`node dist/cli/main.js gateway`, attached to an RN)
// with 16 active slots on the virtual board, vs an idle Node process (`node -e` holding a timer)
// measured in the same run. Lower is better. The slots, all polling or producing all the time:
//   rs485-1..4  modbus-poller, 2 units x 10 holding registers, polled every 100 ms (115200 8N1)
//   tty-1..4    serial-line, a line sensor sending a reading every 100 ms
//   tty-5..8    serial-raw, the same sensors (bytes held for operators up to max_buffer_bytes)
//   net-1..4    mqtt-bridge, subscribed to a machine publishing 2 topics every 100 ms on a real
//               mosquitto (without mosquitto: tty-9..12 serial-line instead, and stderr says so)
// Alongside: a gateway with only one Modbus slot (the cost of each added slot), and the 16-slot
// gateway again under the shipped unit's node flags and environment (src/flash/unit.ts:
// --max-semi-space-size=1, a capped young generation; MALLOC_ARENA_MAX=1), and what they cost in CPU
// (`cpu_16_slots_unit`: its share of a core against the default-flag gateway's). With `--soak MIN` (bench/run.mjs --soak),
// both 16-slot gateways then keep running for MIN minutes (the issue asks 10) with RSS read every
// 10 s: growth is the median of the last minute against the median of the first. See docs/BENCH.md.

import { mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { UNIT_ENVIRONMENT, UNIT_NODE_OPTIONS } from '../dist/flash/unit.js';
import { Mosquitto } from '../dist/sim/mosquitto.js';
import { GC_NODE_ARGS, QUICK, SOAK_MIN, cpuMs, emit, log, median, rssBytes, runBench, settledRss, sleep, spawnNode, stop, tempDir } from './lib/harness.mjs';
import { gatewayFiles, modbusSlot, operatorSlot, peakRssBytes, startGateway, startSimHost, writeGatewayConfig } from './lib/hil.mjs';
import { startUzp } from './lib/topology.mjs';

const BENCH = 'gateway-rss';
const BAUD = 115_200;
const PERIOD_MS = 100;
// Running with data flowing before sampling; BENCH_RSS_WARM_MS overrides (e.g. to watch for growth).
const WARM_MS = Number(process.env.BENCH_RSS_WARM_MS ?? (QUICK ? 2_000 : 34_000));
/**
 * The shipped unit's NODE_OPTIONS and environment (src/flash/unit.ts); BENCH_UNIT_FLAGS and
 * BENCH_UNIT_ENV (space-separated, NAME=VALUE) try others (docs/BENCH.md).
 */
const UNIT_FLAGS = process.env.BENCH_UNIT_FLAGS ? process.env.BENCH_UNIT_FLAGS.split(' ') : [...UNIT_NODE_OPTIONS];
const UNIT_ENV = process.env.BENCH_UNIT_ENV ? Object.fromEntries(process.env.BENCH_UNIT_ENV.split(' ').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])) : { ...UNIT_ENVIRONMENT };
const SOAK_EVERY_MS = 10_000;
/** CPU is read over the end of the warm-up, after start-up's work (the bundle measurement, the first attachments). */
const CPU_WINDOW_MS = 20_000;
const mkdir = (d) => (mkdirSync(d), d);

/**
 * Reads of the running sample: one a second for a minute, whose median spans V8's ~30 s sawtooth
 * (bench review: 5 reads over 1 s caught each process at a random point of it, +-10%).
 */
const SAMPLE = QUICK ? { reads: 5, everyMs: 200 } : { reads: 60, everyMs: 1_000 };

/** VmRSS as the process runs (median of SAMPLE.reads reads), then after two forced full GCs. */
async function sampleRss(proc) {
  const running = [];
  for (let i = 0; i < SAMPLE.reads; i++) {
    running.push(rssBytes(proc.pid));
    await sleep(SAMPLE.everyMs);
  }
  return { running: median(running), gc: await settledRss(proc) };
}

const MB = (b) => `${(b / 1e6).toFixed(1)} MB`;

/**
 * RSS of each process every SOAK_EVERY_MS for `ms`; per process the median of the first and of the
 * last minute, the highest read, and the least-squares slope (stderr, MB per hour). A leak shows as
 * an end above the start that the slope confirms; a sawtooth (V8 growing and shrinking its heap)
 * shows in the max, not in the end.
 */
async function soakRss(procs, ms) {
  const names = Object.keys(procs);
  const xs = Object.fromEntries(names.map((n) => [n, []]));
  const t0 = Date.now();
  let lastLog = t0;
  while (Date.now() - t0 < ms) {
    await sleep(SOAK_EVERY_MS);
    const t = (Date.now() - t0) / 3_600_000;
    for (const n of names) xs[n].push([t, rssBytes(procs[n].pid)]);
    if (Date.now() - lastLog >= 60_000) {
      lastLog = Date.now();
      log(`soak ${Math.round((lastLog - t0) / 60_000)}/${Math.round(ms / 60_000)} min: ${names.map((n) => `${n} ${MB(xs[n].at(-1)[1])}`).join(', ')}`);
    }
  }
  const perMinute = 60_000 / SOAK_EVERY_MS;
  const out = {};
  for (const n of names) {
    const s = xs[n];
    const mt = s.reduce((a, [t]) => a + t, 0) / s.length;
    const mv = s.reduce((a, [, v]) => a + v, 0) / s.length;
    const slope = s.reduce((a, [t, v]) => a + (t - mt) * (v - mv), 0) / Math.max(1e-12, s.reduce((a, [t]) => a + (t - mt) ** 2, 0));
    out[n] = { start: median(s.slice(0, perMinute).map(([, v]) => v)), end: median(s.slice(-perMinute).map(([, v]) => v)), max: Math.max(...s.map(([, v]) => v)) };
    log(`soak ${n}: first minute ${MB(out[n].start)}, last minute ${MB(out[n].end)}, max ${MB(out[n].max)}, slope ${(slope / 1e6).toFixed(2)} MB/h over ${s.length} reads`);
  }
  return out;
}
const serial = { baud: BAUD, parity: 'none', stop_bits: 1 };

/** Waits for one reading on `slot` (tail mode): the slot is live, not just configured. */
async function expectReading(uzp, gwCid, slot, purpose) {
  const op = await operatorSlot(uzp, gwCid, slot, 'tail', [{ purpose }]);
  try {
    await new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`${slot}: no reading within 10 s`)), 10_000);
      op.slot.once('reading', () => (clearTimeout(t), resolve()));
    });
  } finally {
    await op.close();
  }
}

await runBench(BENCH, async () => {
  const dir = tempDir('uzp-bench-rss-');
  let mosquitto = null;
  try {
    mosquitto = await Mosquitto.start();
    log(`mosquitto pid ${mosquitto.pid} on ${mosquitto.url}`);
  } catch (e) {
    log(`mosquitto unavailable (${e?.message ?? e}): the 4 MQTT slots become serial-line slots tty-9..12`);
  }
  try {
    // `node [flags] -e CODE`: spawnNode's script slot takes '-e', the code is its argument.
    const idleNode = spawnNode('idle-node', '-e', ['setInterval(() => {}, 1000)'], { nodeArgs: [...GC_NODE_ARGS] });
    const uzp = await startUzp(dir);
    const sim = await startSimHost();

    /** The 16 devices behind a fresh virtual_dir; returns the slots of the gateway config. */
    const board16 = async (vd) => {
      const slots = {};
      for (let i = 1; i <= 4; i++) {
        await sim.rpc('modbusBus', { dir: vd, names: [`rs485-${i}`], baud: BAUD, slaves: [{ unit: 1, holding: 20 }, { unit: 2, holding: 20 }] });
        slots[`rs485-${i}`] = modbusSlot(`bus-${i}`, { baud: BAUD, units: [1, 2], pollMs: PERIOD_MS });
      }
      for (let i = 1; i <= (mosquitto ? 8 : 12); i++) {
        await sim.rpc('sensor', { dir: vd, name: `tty-${i}`, baud: BAUD, id: `sensor-${i}`, intervalMs: PERIOD_MS });
        const raw = i >= 5 && i <= 8;
        slots[`tty-${i}`] = { device: raw ? { id: `raw-${i}`, driver: 'serial-raw', serial } : { id: `line-${i}`, driver: 'serial-line', serial, delimiter: '\r\n' } };
      }
      // Both 16-slot gateways bridge the same 4 machines (a broker serves any number of subscribers).
      if (mosquitto) for (let i = 1; i <= 4; i++) slots[`net-${i}`] = { device: { id: `mqtt-${i}`, driver: 'mqtt-bridge', broker: mosquitto.url, subscribe: [`machine-${i}/#`], qos: 0 } };
      if (Object.keys(slots).length !== 16) throw new Error(`expected 16 slots, configured ${Object.keys(slots).length}`);
      return slots;
    };
    if (mosquitto) await sim.rpc('mqttDevices', { url: mosquitto.url, bases: [1, 2, 3, 4].map((i) => `machine-${i}`), intervalMs: PERIOD_MS });

    // Three gateways run at once, each on its own virtual_dir and devices, so they share the warm-up
    // and the moments of sampling (the idle process is sampled alongside):
    //   gw-16-slots      the 16 slots, node's default heap settings (what `uzpgw gateway` does)
    //   gw-1-slot        rs485-1 only: the cost of the process itself, for the per-added-slot figure
    //   gw-16-semi1      the 16 slots under the shipped unit's flags and environment (V8's young
    //                    generation capped at 1 MB per semi-space; one malloc arena)
    const gwDefs = [
      ['gw-16-slots', await board16(mkdir(join(dir, 'vdev-16'))), []],
      ['gw-1-slot', null, []],
      ['gw-16-semi1', await board16(mkdir(join(dir, 'vdev-semi1'))), UNIT_FLAGS],
    ];
    const vdir1 = mkdir(join(dir, 'vdev-1'));
    await sim.rpc('modbusBus', { dir: vdir1, names: ['rs485-1'], baud: BAUD, slaves: [{ unit: 1, holding: 20 }, { unit: 2, holding: 20 }] });
    gwDefs[1][1] = { 'rs485-1': modbusSlot('bus-1', { baud: BAUD, units: [1, 2], pollMs: PERIOD_MS }) };
    const vdirs = { 'gw-16-slots': join(dir, 'vdev-16'), 'gw-1-slot': vdir1, 'gw-16-semi1': join(dir, 'vdev-semi1') };
    const gws = {};
    for (const [name, slots, extra] of gwDefs) {
      const { member, files } = gatewayFiles(dir, uzp);
      const env = name === 'gw-16-semi1' ? UNIT_ENV : undefined;
      gws[name] = { member, proc: await startGateway(name, writeGatewayConfig(dir, name, files, vdirs[name], slots), { nodeArgs: [...GC_NODE_ARGS, ...extra], env }) };
    }
    // RSS along the warm-up (stderr): it peaks during start-up and V8 shrinks the heap 10-35 s in;
    // steady growth after that would be a leak, not a warm-up step.
    // CPU over the last CPU_WINDOW_MS of the warm-up (after start-up's work): what the unit's flags
    // cost in CPU, the 16-slot gateway under them against the same one under node's defaults.
    const along = Object.fromEntries(Object.keys(gws).map((k) => [k, []]));
    const cpuFrom = Math.max(0, WARM_MS - CPU_WINDOW_MS);
    let cpu0 = null;
    for (let t = 0; t < WARM_MS; t += 2_000) {
      if (cpu0 === null && t >= cpuFrom) cpu0 = { t: performance.now(), ...Object.fromEntries(Object.keys(gws).map((k) => [k, cpuMs(gws[k].proc.pid)])) };
      await sleep(Math.min(2_000, WARM_MS - t));
      for (const k of Object.keys(along)) along[k].push(rssBytes(gws[k].proc.pid));
    }
    const cpuShare = (k) => (cpuMs(gws[k].proc.pid) - cpu0[k]) / (performance.now() - cpu0.t);
    const cpu16 = cpuShare('gw-16-slots');
    const cpuUnit = cpuShare('gw-16-semi1');
    log(`CPU over the last ${((performance.now() - cpu0.t) / 1000).toFixed(0)} s of the warm-up: gw-16-slots ${(cpu16 * 100).toFixed(1)}%, gw-16-semi1 (${[...UNIT_FLAGS, ...Object.entries(UNIT_ENV).map(([k, v]) => `${k}=${v}`)].join(' ')}) ${(cpuUnit * 100).toFixed(1)}%, gw-1-slot ${(cpuShare('gw-1-slot') * 100).toFixed(1)}% of a core`);
    for (const k of Object.keys(along)) {
      const xs = along[k];
      const shrunk = Math.max(...xs) > 1.15 * xs[xs.length - 1];
      log(`${k}: RSS every 2 s while warming up: ${xs.map(MB).join(', ')}${shrunk ? ' (V8 has shrunk the heap since its start-up peak)' : ''}`);
    }
    const [g1, g16, semi, idle] = await Promise.all([sampleRss(gws['gw-1-slot'].proc), sampleRss(gws['gw-16-slots'].proc), sampleRss(gws['gw-16-semi1'].proc), sampleRss(idleNode)]);
    // Peak RSS since start (VmHWM): the start-up peak, which the box must have room for.
    const peak16 = peakRssBytes(gws['gw-16-slots'].proc.pid);
    const peakSemi = peakRssBytes(gws['gw-16-semi1'].proc.pid);
    const peakIdle = peakRssBytes(idleNode.pid);
    log(`peak (VmHWM): gw-16-slots ${MB(peak16)}, gw-16-semi1 ${MB(peakSemi)}, idle node ${MB(peakIdle)}`);
    log(`gw-1-slot ${MB(g1.running)} running, ${MB(g1.gc)} after GC; gw-16-slots ${MB(g16.running)} / ${MB(g16.gc)}; gw-16-semi1 ${MB(semi.running)} / ${MB(semi.gc)}; idle node ${MB(idle.running)} / ${MB(idle.gc)}`);
    const soak = SOAK_MIN > 0 ? await soakRss({ 'gw-16-slots': gws['gw-16-slots'].proc, 'gw-16-semi1': gws['gw-16-semi1'].proc, 'idle-node': idleNode }, SOAK_MIN * 60_000) : null;
    // Every kind of slot delivers (checked after sampling, so the operator sessions are not measured).
    const gw16 = gws['gw-16-slots'].member.cid;
    await expectReading(uzp, gw16, 'rs485-1', 'modbus.read');
    await expectReading(uzp, gw16, 'tty-1', 'serial.read');
    if (mosquitto) await expectReading(uzp, gw16, 'net-1', 'mqtt.subscribe');
    log('readings seen on rs485-1, tty-1' + (mosquitto ? ', net-1' : ''));
    for (const g of Object.values(gws)) await stop(g.proc);
    const stats = await sim.rpc('stats');
    log(`sim buses: ${stats.buses.map((b) => `${basename(b.dir)}/${b.names[0]} ${b.replies} replies`).join(', ')}`);

    const idleLabel = 'idle node process (node -e timer)';
    emit(BENCH, 'rss_16_slots', g16.running, 'bytes', idleLabel, idle.running);
    emit(BENCH, 'rss_16_slots_peak', peak16, 'bytes', `${idleLabel}, peak`, peakIdle);
    emit(BENCH, 'rss_16_slots_after_gc', g16.gc, 'bytes', `${idleLabel}, after GC`, idle.gc);
    emit(BENCH, 'rss_per_slot', (g16.running - idle.running) / 16, 'bytes', idleLabel, idle.running);
    emit(BENCH, 'rss_16_slots_unit', semi.running, 'bytes', 'the same gateway with node defaults (rss_16_slots)', g16.running);
    emit(BENCH, 'rss_16_slots_unit_peak', peakSemi, 'bytes', 'the same gateway with node defaults, peak', peak16);
    emit(BENCH, 'cpu_16_slots_unit', cpuUnit, 'core share', 'the same gateway with node defaults', cpu16);
    emit(BENCH, 'rss_per_added_slot', (g16.running - g1.running) / 15, 'bytes', 'gateway with 1 slot', g1.running);
    if (soak !== null) {
      const label = `the same gateway in the first minute of a ${SOAK_MIN}-minute soak`;
      emit(BENCH, 'rss_16_slots_soak_end', soak['gw-16-slots'].end, 'bytes', label, soak['gw-16-slots'].start);
      emit(BENCH, 'rss_16_slots_soak_max', soak['gw-16-slots'].max, 'bytes', label, soak['gw-16-slots'].start);
      emit(BENCH, 'rss_16_slots_unit_soak_end', soak['gw-16-semi1'].end, 'bytes', label, soak['gw-16-semi1'].start);
      emit(BENCH, 'rss_16_slots_unit_soak_max', soak['gw-16-semi1'].max, 'bytes', label, soak['gw-16-semi1'].start);
    }
  } finally {
    if (mosquitto) await mosquitto.stop();
  }
});
