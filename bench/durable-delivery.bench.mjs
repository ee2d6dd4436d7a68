// durable-delivery (issue #12): readings from equipment into a database, and what it costs the
// edge box's disk. Both paths read the same numbered lines written as fast as the PTY takes them
// into a serial port, and both end in the same kind of database (SQLite through the collector's
// own SqliteStore: WAL, synchronous=FULL, one row per reading, unique key):
//   uzp       the gateway (serial-line slot, reading log in batch mode, 200 ms) publishing outbound
//             through an RN to `uzpgw collector` (SQLite), receipts trimming the gateway's log;
//   baseline  what a user would run instead: a Node script reading the port and publishing each
//             line with mqtt.js at QoS 1 to mosquitto with persistence on (autosave_interval 1:
//             its shortest loss window, still 5x ours), and an mqtt.js subscriber (QoS 1,
//             persistent session) inserting the rows in 200 ms batches.
// Metrics (docs/BENCH.md): readings_per_s (first line written -> last row committed; higher is
// better) and disk_bytes_per_reading (bytes the gateway process, resp. mosquitto, sent to storage
// per reading: /proc/PID/io write_bytes; lower is better).

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { spawn } from 'node:child_process';
import { PtyPair } from '../dist/sim/pty.js';
import { openSerial } from '../dist/sim/serial-open.js';
import { generateIdentity } from '../dist/uzp/identity/identity.js';
import { writeKeyFile } from '../dist/files/keyfile.js';
import { nodeProvider } from '../dist/uzp/crypto/node.js';
import { toHex } from '../dist/uzp/bytes.js';
import { CLI, LIB, QUICK, cpuMs, emit, log, runBench, sleep, spawnNode, stop, tempDir, waitForJsonLine } from './lib/harness.mjs';

const BENCH = 'durable-delivery';
const N = QUICK ? 3_000 : 30_000;
const CHUNK_LINES = 200;

async function cli(...args) {
  const p = spawnNode('cli', CLI, args);
  const r = await p.exited;
  if (r.code !== 0) throw new Error(`uzpgw ${args.slice(0, 2).join(' ')} failed: ${p.stderrTail}`);
  return p.stdoutText;
}

function writeBytes(pid) {
  const m = /^write_bytes:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'));
  return Number(m[1]);
}

function rowCount(file) {
  try {
    const db = new DatabaseSync(file, { readOnly: true });
    try {
      return Number(db.prepare('SELECT count(*) AS n FROM readings').get().n);
    } finally {
      db.close();
    }
  } catch {
    return 0; // not created yet
  }
}

/** Writes N numbered lines into `port` as fast as it drains, in chunks. */
async function writeLines(port) {
  for (let i = 0; i < N; i += CHUNK_LINES) {
    let s = '';
    for (let k = i; k < Math.min(N, i + CHUNK_LINES); k++) s += `n=${k} t=${(20 + (k % 100) / 10).toFixed(1)}\n`;
    await new Promise((resolve, reject) => port.write(s, (e) => (e ? reject(e) : port.drain(resolve))));
  }
}

async function untilRows(file, n, what, timeoutMs = 300_000) {
  const t0 = Date.now();
  for (;;) {
    const c = rowCount(file);
    if (c >= n) return;
    if (Date.now() - t0 > timeoutMs) throw new Error(`${what}: ${c} of ${n} rows after ${timeoutMs} ms`);
    await sleep(20);
  }
}

/** Like untilRows, but settles when the count stops growing for `quietMs`: returns the rows that never came. */
async function untilRowsOrQuiet(file, n, quietMs = 5_000) {
  let last = -1;
  let since = Date.now();
  for (;;) {
    const c = rowCount(file);
    if (c >= n) return 0;
    if (c !== last) {
      last = c;
      since = Date.now();
    } else if (Date.now() - since > quietMs) return n - c;
    await sleep(50);
  }
}

async function ptyPair(dir) {
  mkdirSync(join(dir, 'pty'), { recursive: true });
  mkdirSync(join(dir, 'dev'), { recursive: true });
  const pty = await PtyPair.open({ linkA: join(dir, 'pty/tty-1'), linkB: join(dir, 'dev/tty-1') });
  const port = await openSerial(join(dir, 'dev/tty-1'), 115200);
  return { pty, port };
}

/** Writes `count` lines at `perS` lines/s (a steady device), in 50 ms ticks. */
async function writePaced(port, count, perS, from) {
  const perTick = Math.max(1, Math.round(perS / 20));
  for (let k = from; k < from + count; k += perTick) {
    let s = '';
    for (let j = k; j < Math.min(from + count, k + perTick); j++) s += `n=${j} t=${(20 + (j % 100) / 10).toFixed(1)}\n`;
    await new Promise((resolve, reject) => port.write(s, (e) => (e ? reject(e) : port.drain(resolve))));
    await sleep(50);
  }
}

/**
 * The outage phase: a steady device (OUTAGE_RATE lines/s) while the consumer (collector, resp.
 * subscriber) is away for OUTAGE_S seconds, then back until everything is stored. What durable
 * delivery is for; mosquitto's persistence rewrites its whole queue at every autosave meanwhile.
 */
const OUTAGE_S = QUICK ? 4 : 20;
const OUTAGE_RATE = 500;
/**
 * The steady phase: a device at a rate both paths carry without a backlog, consumer up. The burst
 * above outruns the publishing path, and the gateway must write its backlog (the baseline's backlog
 * waits in its publisher's memory and the PTY instead, where a crash loses it).
 */
const STEADY_S = QUICK ? 3 : 10;
const STEADY_RATE = 1000;
const STEADY = STEADY_S * STEADY_RATE;

async function uzp() {
  const dir = tempDir('bench-durable-uzp-');
  const at = (f) => join(dir, f);
  await cli('pantheon', 'init', '--dir', at('domain'), '--domain', 'bench.test');
  const ids = { gw: generateIdentity(nodeProvider), col: generateIdentity(nodeProvider), rn: generateIdentity(nodeProvider) };
  for (const [name, id] of Object.entries(ids)) writeKeyFile(at(`${name}.key`), id);
  await cli('pantheon', 'enroll', '--dir', at('domain'), '--public', toHex(ids.gw.publicKey), '--role', 'gateway', '--out', at('gw.pcert'));
  await cli('pantheon', 'enroll', '--dir', at('domain'), '--public', toHex(ids.col.publicKey), '--role', 'collector', '--out', at('col.pcert'));
  const rn = spawnNode('rn', CLI, ['rn', '--listen', '127.0.0.1:0', '--trust', at('domain/trust.json'), '--key', at('rn.key'), '--log-level', 'warn']);
  const { address } = await waitForJsonLine(rn, (v) => v.event === 'listening');
  await cli('pantheon', 'rn-set', '--dir', at('domain'), '--rn', `${toHex(ids.rn.publicKey)}@${address}`, '--out', at('rn-set.uzp'));
  await cli('pantheon', 'grant', '--dir', at('domain'), '--subject', toHex(ids.gw.cid), '--audience', toHex(ids.col.cid), '--slot', '*', '--purpose', 'telemetry.publish', '--days', '1', '--out', at('publish.grant'));
  const { pty, port } = await ptyPair(dir);
  writeFileSync(
    at('gateway.json'),
    JSON.stringify({
      kind: 'uzp-gw/gateway-config',
      identity: { key: 'gw.key', pcert: 'gw.pcert' },
      trust: { anchor: 'domain/trust.json', rn_set: 'rn-set.uzp' },
      reading_log: { durability: 'batch', batch_ms: 200 },
      publish: { collectors: [{ cid: toHex(ids.col.cid), grant: 'publish.grant', discovery_grant: 'discovery.grant' }] },
      board: 'virtual',
      virtual_dir: 'pty',
      slots: { 'tty-1': { device: { id: 'sensor', driver: 'serial-line', serial: { baud: 115200 } } } },
    }),
  );
  await cli('publish', 'grant', '--config', at('gateway.json'), '--collector', toHex(ids.col.cid), '--slot', '*', '--out', at('discovery.grant'));
  writeFileSync(at('collector.json'), JSON.stringify({ kind: 'uzp-gw/collector-config', identity: { key: 'col.key', pcert: 'col.pcert' }, trust: { anchor: 'domain/trust.json', rn_set: 'rn-set.uzp' }, db: 'collector.db' }));
  const collector = spawnNode('collector', CLI, ['collector', '--config', at('collector.json'), '--log-level', 'info']);
  await waitForJsonLine(collector, (v) => v.event === 'rn.attached');
  const gateway = spawnNode('gateway', CLI, ['gateway', '--config', at('gateway.json'), '--log-level', 'info']);
  await waitForJsonLine(gateway, (v) => typeof v.msg === 'string' && v.msg.endsWith('opened'));
  await new Promise((resolve) => port.write('\n', () => port.drain(resolve))); // the driver drops up to the first delimiter after opening
  await waitForJsonLine(gateway, (v) => v.action === 'publish.accepted', 30_000);
  // Steady state, as for the baseline: the gateway's one-off start-up measurement of its bundle (BLAKE3
  // over every installed file; this checkout's node_modules holds the dev tools too) is over first.
  const measured = await waitForJsonLine(gateway, (v) => v.event === 'attest.measured' || v.event === 'attest.measure_failed', 120_000);
  log(`uzp: gateway start-up measurement took ${measured.ms ?? '?'} ms`);
  const c0 = [gateway, rn, collector].map((p) => cpuMs(p.pid));
  const w0 = writeBytes(gateway.pid);
  const t0 = performance.now();
  await writeLines(port);
  await untilRows(at('collector.db'), N, 'uzp');
  const ms = performance.now() - t0;
  // Where the time went: with the gateway near 100% of a core the publishing path falls behind the
  // PTY, and readings it could not get receipted within the batch window are written.
  log(`uzp burst CPU ms: gateway ${cpuMs(gateway.pid) - c0[0]}, rn ${cpuMs(rn.pid) - c0[1]}, collector ${cpuMs(collector.pid) - c0[2]} in ${ms.toFixed(0)} ms`);
  await sleep(500); // the last receipts trim the log: part of what a reading costs the disk
  const bytes = writeBytes(gateway.pid) - w0;
  // Steady phase.
  const s0 = writeBytes(gateway.pid);
  await writePaced(port, STEADY, STEADY_RATE, N);
  await untilRows(at('collector.db'), N + STEADY, 'uzp steady');
  await sleep(1500);
  const steadyBytes = writeBytes(gateway.pid) - s0;
  // Outage phase.
  const o0 = writeBytes(gateway.pid);
  await stop(collector, 100);
  const outageLines = OUTAGE_S * OUTAGE_RATE;
  await writePaced(port, outageLines, OUTAGE_RATE, N + STEADY);
  const back = spawnNode('collector', CLI, ['collector', '--config', at('collector.json'), '--log-level', 'info']);
  await untilRows(at('collector.db'), N + STEADY + outageLines, 'uzp after the outage');
  await sleep(500);
  const outageBytes = writeBytes(gateway.pid) - o0;
  await stop(back);
  await stop(gateway);
  await stop(rn);
  port.close();
  await pty.close();
  return { perS: (N / ms) * 1000, bytesPer: bytes / N, ms, steadyBytesPer: steadyBytes / STEADY, outageBytesPer: outageBytes / outageLines };
}

async function baseline() {
  const dir = tempDir('bench-durable-mqtt-');
  const at = (f) => join(dir, f);
  mkdirSync(at('mosq'));
  const port0 = await new Promise((resolve) => {
    import('node:net').then(({ createServer }) => {
      const s = createServer();
      s.listen(0, '127.0.0.1', () => {
        const p = s.address().port;
        s.close(() => resolve(p));
      });
    });
  });
  writeFileSync(at('mosquitto.conf'), [`listener ${port0} 127.0.0.1`, 'allow_anonymous true', 'persistence true', `persistence_location ${at('mosq')}/`, 'autosave_interval 1', 'max_queued_messages 1000000', 'log_dest stderr', 'log_type error',
    // Run as root, mosquitto drops to user "mosquitto", which cannot write our directory: persistence would silently fail.
    ...(process.getuid?.() === 0 ? ['user root'] : []), ''].join('\n'));
  const mosq = spawn('mosquitto', ['-c', at('mosquitto.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
  mosq.exited = new Promise((r) => mosq.on('exit', (code, signal) => r({ code, signal })));
  // Not a harness child (it is not node): stopped by its pid here even when the scenario fails half-way.
  const killMosq = () => mosq.exitCode === null && mosq.signalCode === null && mosq.kill('SIGKILL');
  process.once('exit', killMosq);
  await sleep(300);
  const url = `mqtt://127.0.0.1:${port0}`;
  const { pty, port } = await ptyPair(dir);
  const sub = spawnNode('subscriber', join(LIB, 'mqtt-sqlite-subscriber.mjs'), [url, 'plant/sensor/line', at('baseline.db')]);
  await waitForJsonLine(sub, (v) => v.event === 'ready');
  const pub = spawnNode('publisher', join(LIB, 'mqtt-line-publisher.mjs'), [join(dir, 'pty/tty-1'), url, 'plant/sensor/line']);
  await waitForJsonLine(pub, (v) => v.event === 'ready');
  const w0 = writeBytes(mosq.pid);
  const t0 = performance.now();
  await writeLines(port);
  await untilRows(at('baseline.db'), N, 'baseline');
  const ms = performance.now() - t0;
  await sleep(1500); // one more autosave: what the broker's persistence costs per message
  const bytes = writeBytes(mosq.pid) - w0;
  // Steady phase.
  const s0 = writeBytes(mosq.pid);
  await writePaced(port, STEADY, STEADY_RATE, N);
  await untilRows(at('baseline.db'), N + STEADY, 'baseline steady');
  await sleep(1500);
  const steadyBytes = writeBytes(mosq.pid) - s0;
  // Outage phase: the subscriber away, its persistent session queueing at the broker.
  const o0 = writeBytes(mosq.pid);
  await stop(sub, 100);
  const outageLines = OUTAGE_S * OUTAGE_RATE;
  await writePaced(port, outageLines, OUTAGE_RATE, N + STEADY);
  const back = spawnNode('subscriber', join(LIB, 'mqtt-sqlite-subscriber.mjs'), [url, 'plant/sensor/line', at('baseline.db')]);
  // The subscriber acks at receipt and commits 200 ms later: stopping it can lose what it had acked.
  const lost = await untilRowsOrQuiet(at('baseline.db'), N + STEADY + outageLines);
  await sleep(1500);
  const outageBytes = writeBytes(mosq.pid) - o0;
  await stop(back);
  await stop(pub);
  mosq.kill('SIGTERM');
  await mosq.exited;
  port.close();
  await pty.close();
  return { perS: (N / ms) * 1000, bytesPer: bytes / N, ms, steadyBytesPer: steadyBytes / STEADY, outageBytesPer: outageBytes / outageLines, lost };
}

await runBench(BENCH, async () => {
  const u = await uzp();
  log(`uzp: ${N} readings in ${u.ms.toFixed(0)} ms (${u.perS.toFixed(0)}/s), gateway wrote ${u.bytesPer.toFixed(1)} B/reading`);
  const b = await baseline();
  log(`mqtt: ${N} readings in ${b.ms.toFixed(0)} ms (${b.perS.toFixed(0)}/s), mosquitto wrote ${b.bytesPer.toFixed(1)} B/reading`);
  emit(BENCH, 'readings_per_s', u.perS, 'readings/s', 'mqtt.js QoS 1 -> mosquitto (persistence, autosave 1 s) -> mqtt.js subscriber -> SQLite', b.perS);
  emit(BENCH, 'disk_bytes_per_reading', u.bytesPer, 'B', 'mosquitto persistence (autosave 1 s)', Math.max(b.bytesPer, 1e-9));
  log(`steady ${STEADY_S} s at ${STEADY_RATE}/s: gateway ${u.steadyBytesPer.toFixed(1)} B/reading, mosquitto ${b.steadyBytesPer.toFixed(1)} B/reading`);
  emit(BENCH, 'disk_bytes_per_reading_steady', u.steadyBytesPer, 'B', `mosquitto persistence (autosave 1 s), device at ${STEADY_RATE}/s`, Math.max(b.steadyBytesPer, 1e-9));
  log(`baseline lost ${b.lost} of ${N + STEADY + OUTAGE_S * OUTAGE_RATE} messages across its subscriber's restart (acked before committed); uzp lost 0`);
  log(`outage ${OUTAGE_S} s at ${OUTAGE_RATE}/s: gateway ${u.outageBytesPer.toFixed(1)} B/reading, mosquitto ${b.outageBytesPer.toFixed(1)} B/reading`);
  emit(BENCH, 'disk_bytes_per_reading_outage', u.outageBytesPer, 'B', `mosquitto persistence (autosave 1 s), consumer away ${OUTAGE_S} s at ${OUTAGE_RATE}/s`, Math.max(b.outageBytesPer, 1e-9));
});
