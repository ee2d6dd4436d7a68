// Scenario: the rendezvous fabric (issue #16). Two `uzpgw rn --fabric` processes on a 2-node NATS
// cluster (each RN on its own node, so a hop crosses a NATS route too), and two peer processes:
// the responders (gateways) and the initiator (operator). The same initiator reaches a gateway on
// its own RN (same-RN, the baseline) and one on the other RN (cross-RN: EP -> RN0 -> NATS node 0 ->
// NATS node 1 -> RN1 -> EP), in the same run, interleaved.
//   cross_rn_throughput            MB/s of 16 KiB messages cross-RN; baseline same-RN; goal ratio >= 0.8
//   cross_rn_first_byte_added_ms   median cross-RN minus median same-RN time to the first echoed byte
//                                  (link up: JOIN, handshake, one message round trip); goal <= 1 ms
//   cross_rn_cpu_ms_per_mb         CPU time of every process of the bench (peers, RNs, NATS nodes,
//                                  /proc/PID/stat) per MB carried, cross-RN against same-RN: what
//                                  the hop costs, whatever the number of cores

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromHex } from '../dist/uzp/bytes.js';
import { writeKeyFile } from '../dist/files/keyfile.js';
import { SUITE_CHACHA } from '../dist/uzp/handshake/suites.js';
import { BenchDomain } from './lib/domain.mjs';
import { CLI, QUICK, cpuMs, emit, log, median, profileArgs, removeDir, runBench, sleep, spawnNode, spawnPeer, tempDir, waitForJsonLine } from './lib/harness.mjs';
import { freePort, startNatsCluster } from './lib/nats.mjs';

const BENCH = 'rn-fabric';
const ROUNDS = QUICK ? 1 : 5;
const COUNT = QUICK ? 512 : 4096; // 16 KiB messages: 64 MiB a round
const SIZE = 16 * 1024;
const FIRST_BYTE_N = QUICK ? 20 : 200;

async function waitForLog(proc, event, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!proc.stderrLines.some((l) => l.includes(`"event":"${event}"`))) {
    if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`${proc.name}: no ${event} (${proc.stderrTail.slice(-500)})`);
    await sleep(20);
  }
}

await runBench(BENCH, async () => {
  const dir = tempDir('uzp-bench-fabric-');
  try {
    const nats = await startNatsCluster(2);
    const domain = new BenchDomain();
    const rns = [domain.member('rn'), domain.member('rn')];
    const addresses = [];
    for (let i = 0; i < 2; i++) addresses.push(`127.0.0.1:${await freePort()}`);
    const rnSet = domain.rnSetOf(rns.map((rn, i) => ({ rn, address: addresses[i] })));
    const files = domain.writeRnFiles(dir, rns[0]);
    writeFileSync(join(dir, 'rn-set.uzp'), fromHex(rnSet));
    const procs = [];
    for (let i = 0; i < 2; i++) {
      const key = join(dir, `rn${i}.key`);
      writeKeyFile(key, rns[i].identity);
      // BENCH_FABRIC_ONE_NODE=1: both RNs on node 0 (no route hop), to see what the route costs.
      const first = process.env.BENCH_FABRIC_ONE_NODE === '1' ? 0 : i;
      const urls = [nats.urls[first], nats.urls[1 - first]].join(',');
      const p = spawnNode(`rn${i}`, CLI, ['rn', '--listen', addresses[i], '--trust', files.trust, '--key', key, '--rn-set', join(dir, 'rn-set.uzp'), '--fabric', urls, '--rn-id', `rn${i}`, '--log-level', 'info', '--drain-ms', '0'], { nodeArgs: profileArgs(`rn${i}`) });
      await waitForJsonLine(p, (v) => v.event === 'listening');
      await waitForLog(p, 'fabric_connected');
      procs.push(p);
    }
    log(`NATS ${nats.urls.join(' ')}; RNs ${addresses.join(' ')}`);

    const base = { rootPublic: domain.rootPublicHex, rnSet };
    const operator = domain.member('operator');
    const strip = (m) => ({ seed: m.seed, cid: m.cid, pcert: m.pcert });
    const responders = await spawnPeer('responders');
    const initiator = await spawnPeer('initiator');
    // Sinks for throughput (no echo) and echoers for the first byte, on each RN.
    const gw = { sinkSame: domain.member('gateway'), sinkCross: domain.member('gateway'), echoSame: domain.member('gateway'), echoCross: domain.member('gateway') };
    await responders.rpc('uzpListen', { ...base, rnAddress: addresses[0], me: strip(gw.sinkSame), echo: false });
    await responders.rpc('uzpListen', { ...base, rnAddress: addresses[1], me: strip(gw.sinkCross), echo: false });
    await responders.rpc('uzpListen', { ...base, rnAddress: addresses[0], me: strip(gw.echoSame), echo: true });
    await responders.rpc('uzpListen', { ...base, rnAddress: addresses[1], me: strip(gw.echoCross), echo: true });
    // Presence of the RN 1 gateways reaches RN 0 through NATS a moment after their ACCEPT.
    await sleep(300);
    const connect = (key, target) => initiator.rpc('uzpConnect', { ...base, rnAddress: addresses[0], me: strip(operator), target: target.cid, grant: domain.grant(operator.cid, target.cid), key, suite: SUITE_CHACHA });
    await connect('same', gw.sinkSame);
    await connect('cross', gw.sinkCross);

    const pids = [...procs, ...nats.procs, responders, initiator].map((p) => p.pid);
    const cpu = { same: [], cross: [] };
    const measure = async (key, count) => {
      await responders.rpc('arm', { messages: count, bytes: count * SIZE });
      const done = responders.nextEvent((m) => m.event === 'received', 60_000);
      const c0 = cpuMs(...pids);
      const each0 = pids.map((pid) => cpuMs(pid));
      const { t0 } = await initiator.rpc('send', { key, count, size: SIZE }, 60_000);
      const { t1 } = await done;
      cpu[key].push((cpuMs(...pids) - c0) / ((count * SIZE) / 1e6));
      if (process.env.BENCH_VERBOSE_CPU) log(`${key}: CPU ms/MB by process (rn0 rn1 nats0 nats1 responders initiator): ${pids.map((pid, i) => ((cpuMs(pid) - each0[i]) / ((count * SIZE) / 1e6)).toFixed(1)).join(' ')}`);
      return (count * SIZE) / 1e6 / (Number(BigInt(t1) - BigInt(t0)) / 1e9);
    };
    for (const key of ['same', 'cross']) await measure(key, COUNT / 8); // warm-up
    cpu.same.length = cpu.cross.length = 0;
    const mb = { same: [], cross: [] };
    for (let r = 0; r < ROUNDS; r++) {
      for (const key of r % 2 === 0 ? ['same', 'cross'] : ['cross', 'same']) mb[key].push(await measure(key, COUNT));
      log(`round ${r + 1}: same-RN ${mb.same.at(-1).toFixed(1)} MB/s (${cpu.same.at(-1).toFixed(1)} CPU ms/MB), cross-RN ${mb.cross.at(-1).toFixed(1)} MB/s (${cpu.cross.at(-1).toFixed(1)} CPU ms/MB)`);
    }
    emit(BENCH, 'cross_rn_throughput', median(mb.cross), 'MB/s', 'same_rn_throughput', median(mb.same));
    emit(BENCH, 'cross_rn_cpu_ms_per_mb', median(cpu.cross), 'ms/MB', 'same_rn_cpu_ms_per_mb', median(cpu.same));

    const firstByte = (target) => initiator.rpc('firstByteUzp', { ...base, rnAddress: addresses[0], me: strip(operator), target: target.cid, grant: domain.grant(operator.cid, target.cid), suite: SUITE_CHACHA, size: 64, reuseLink: true });
    for (let i = 0; i < 10; i++) for (const t of [gw.echoSame, gw.echoCross]) await firstByte(t); // warm-up
    const ms = { same: [], cross: [] };
    for (let i = 0; i < FIRST_BYTE_N; i++) {
      const order = i % 2 === 0 ? [['same', gw.echoSame], ['cross', gw.echoCross]] : [['cross', gw.echoCross], ['same', gw.echoSame]];
      for (const [k, t] of order) ms[k].push(Number((await firstByte(t)).ns) / 1e6);
    }
    const same = median(ms.same);
    const cross = median(ms.cross);
    log(`first byte (link up): same-RN median ${same.toFixed(2)} ms, cross-RN ${cross.toFixed(2)} ms`);
    emit(BENCH, 'cross_rn_first_byte_added_ms', cross - same, 'ms', 'same_rn_first_byte_ms', same);
    emit(BENCH, 'cross_rn_first_byte_ms', cross, 'ms', 'same_rn_first_byte_ms', same);
  } finally {
    removeDir(dir);
  }
});
