// Scenario 3: RN memory per attached EP. VmRSS of the RN process (`uzpgw rn`, started with
// node --expose-gc and a preload that runs gc() on SIGUSR2) with 0 and with N attached EPs,
// held by several EP processes (one RnLink per EP identity, each ACCEPTing like an idle gateway).
// Baseline: a node:tls server process holding N idle mutual-auth TLS 1.3 connections.
// Both servers first serve and drop a warm-up batch, so one-time costs (JIT, lazy modules)
// are not charged to the N connections. Bytes per EP; ratio = uzp / tls (lower is better).

import { join } from 'node:path';
import { GC_NODE_ARGS, LIB, QUICK, emit, log, removeDir, runBench, settledRss, sleep, spawnNode, spawnPeer, split, stop, tempDir, waitForJsonLine } from './lib/harness.mjs';
import { startUzp } from './lib/topology.mjs';
import { makeTlsPki } from './lib/certs.mjs';

const BENCH = 'rn-memory';
const N = QUICK ? 60 : 500;
const WARMUP = QUICK ? 10 : 20;
const EP_PROCESSES = 4;
// The RN admits 20 HELLOs/s per source address, and every EP here comes from 127.0.0.1.
const ATTACH_RATE_PER_S = 19;

async function uzpSide(dir, eps) {
  const uzp = await startUzp(dir, { nodeArgs: GC_NODE_ARGS });
  const hold = async (count) => {
    const members = Array.from({ length: count }, () => uzp.member('gateway'));
    const results = await Promise.all(
      split(members, eps.length).map((ms, i) => eps[i].rpc('holdLinks', { ...uzp.base, members: ms, ratePerS: ATTACH_RATE_PER_S / eps.length }, 120_000)),
    );
    const attached = results.reduce((a, r) => a + r.attached, 0);
    const refusals = results.reduce((a, r) => a + r.refusals, 0);
    if (attached !== count) throw new Error(`attached ${attached} of ${count}`);
    return refusals;
  };
  await hold(WARMUP);
  await Promise.all(eps.map((p) => p.rpc('closeAll')));
  await sleep(1500); // the RN notices the closes and frees the links
  const rss0 = await settledRss(uzp.proc);
  const t0 = Date.now();
  const refusals = await hold(N);
  log(`UZP: ${N} EPs attached in ${((Date.now() - t0) / 1000).toFixed(1)} s (${refusals} refusals retried)`);
  await sleep(1000);
  const rssN = await settledRss(uzp.proc);
  await Promise.all(eps.map((p) => p.rpc('closeAll')));
  await stop(uzp.proc);
  return { rss0, rssN };
}

async function tlsSide(dir, eps) {
  const pki = makeTlsPki(dir);
  const server = spawnNode('tls-server', join(LIB, 'tls-server.mjs'), [dir], { nodeArgs: GC_NODE_ARGS, ipc: true });
  const { address } = await waitForJsonLine(server, (v) => v.event === 'listening');
  const hold = (count) => Promise.all(split(Array.from({ length: count }), eps.length).map((xs, i) => eps[i].rpc('holdTls', { address, pki, n: xs.length }, 120_000)));
  await hold(WARMUP);
  await Promise.all(eps.map((p) => p.rpc('closeAll')));
  await sleep(1500);
  const rss0 = await settledRss(server);
  const t0 = Date.now();
  const open = (await hold(N)).reduce((a, r) => a + r.open, 0);
  if (open !== N) throw new Error(`TLS: ${open} of ${N} connections open`);
  log(`TLS: ${N} connections in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  await sleep(1000);
  const rssN = await settledRss(server);
  await Promise.all(eps.map((p) => p.rpc('closeAll')));
  await stop(server);
  return { rss0, rssN };
}

await runBench(BENCH, async () => {
  const dir = tempDir('uzp-bench-mem-');
  try {
    const eps = await Promise.all(Array.from({ length: EP_PROCESSES }, (_, i) => spawnPeer(`ep${i + 1}`)));
    const tls = await tlsSide(dir, eps);
    const uzp = await uzpSide(dir, eps);
    const mb = (b) => (b / 1048576).toFixed(1) + ' MiB';
    log(`RN RSS: ${mb(uzp.rss0)} with 0 EPs, ${mb(uzp.rssN)} with ${N}`);
    log(`TLS server RSS: ${mb(tls.rss0)} with 0 connections, ${mb(tls.rssN)} with ${N}`);
    emit(BENCH, 'rss_per_attached_ep', (uzp.rssN - uzp.rss0) / N, 'bytes', 'tls13_server_rss_per_idle_mutual_auth_connection', (tls.rssN - tls.rss0) / N);
  } finally {
    removeDir(dir);
  }
});
