// Scenario (issue #16, one RN): how many attached endpoints one RN holds, and at what memory.
// N endpoints (10,000; 600 with --quick), each its own identity and PCert, attach to one `uzpgw rn`
// from EP processes (one RnLink each, ACCEPTing like an idle gateway) and stay attached; the RN's
// per-source admission is raised for the run (`--preauth-rate`, `--hello-rate`: every endpoint here
// comes from 127.0.0.1, where the defaults admit 20 handshakes a second). Baseline, same run: a
// node:tls server holding N idle mutual-auth TLS 1.3 connections from the same EP processes.
//
// Then every second endpoint JOINs the next one (N/2 pairs, each under its own Grant; the RN checks
// every Grant as usual, the responders take every OFFER): RN-level stitches, held to the end.
//
// Lines:
//   attached_eps       endpoints attached and held at the end          baseline: the goal, 10,000
//   rss_total_bytes    the RN's VmRSS with them (after two full GCs)     baseline: the TLS server's with N connections
//   attach_per_s       attachments per second while they came in       baseline: TLS handshakes per second, same EPs
//   stitched_pairs     stitches the RN made and still holds             baseline: the goal, 5,000
//   stitches_per_s     JOIN -> OFFER -> stitched, all pairs at once     baseline: the goal, 1,000/s
//   rss_stitched_bytes (extra) the RN's VmRSS with the stitches too     baseline: rss_total_bytes
// Not measured yet (issue #16): the fabric lines (cross-RN throughput and first byte).

import { join } from 'node:path';
import { GC_NODE_ARGS, LIB, QUICK, emit, log, removeDir, runBench, settledRss, sleep, spawnNode, spawnPeer, split, stop, tempDir, waitForJsonLine } from './lib/harness.mjs';
import { startUzp } from './lib/topology.mjs';
import { makeTlsPki } from './lib/certs.mjs';

const BENCH = 'rn-scale';
const GOAL = 10_000;
const N = QUICK ? 600 : GOAL;
const EP_PROCESSES = 4;
const RN_ARGS = ['--max-links', String(N + 100), '--max-preauth', '4096', '--max-preauth-per-source', '4096', '--preauth-rate', '100000', '--preauth-burst', '100000', '--hello-rate', '100000', '--hello-burst', '100000'];
/** Per EP process; the attach loop is sequential, so this is a ceiling, not a pace. */
const RATE_PER_PROCESS = 100_000;
/** JOINs in flight per EP process. */
const JOINS_IN_FLIGHT = 32;
const PAIRS_GOAL = 5_000;
const STITCH_RATE_GOAL = 1_000;

async function uzpSide(dir, eps) {
  const uzp = await startUzp(dir, { nodeArgs: GC_NODE_ARGS, rnArgs: RN_ARGS });
  const t0m = Date.now();
  const members = Array.from({ length: N }, () => uzp.member('gateway'));
  log(`UZP: ${N} identities and PCerts issued in ${((Date.now() - t0m) / 1000).toFixed(1)} s`);
  const rss0 = await settledRss(uzp.proc);
  const t0 = Date.now();
  const results = await Promise.all(split(members, eps.length).map((ms, i) => eps[i].rpc('holdLinks', { ...uzp.base, members: ms, ratePerS: RATE_PER_PROCESS, acceptOffers: true }, 600_000)));
  const secs = (Date.now() - t0) / 1000;
  const attached = results.reduce((a, r) => a + r.attached, 0);
  const refusals = results.reduce((a, r) => a + r.refusals, 0);
  log(`UZP: ${attached} of ${N} EPs attached in ${secs.toFixed(1)} s (${refusals} refusals retried)`);
  await sleep(2000);
  const held = (await Promise.all(eps.map((p) => p.rpc('linkCount')))).reduce((a, n) => a + n, 0);
  const rssN = await settledRss(uzp.proc);

  // Pairs (2j -> 2j+1): split() put member i in process i % k, so each pair spans two processes.
  const pairsBy = Array.from({ length: eps.length }, () => []);
  for (let j = 0; j + 1 < N; j += 2) pairsBy[j % eps.length].push({ initiator: members[j].cid, target: members[j + 1].cid, grant: uzp.domain.grant(members[j].cid, members[j + 1].cid) });
  const pairs = pairsBy.reduce((a, x) => a + x.length, 0);
  const tj = Date.now();
  const joins = await Promise.all(pairsBy.map((ps, i) => eps[i].rpc('joinPairs', { pairs: ps, inFlight: JOINS_IN_FLIGHT }, 600_000)));
  const joinSecs = (Date.now() - tj) / 1000;
  const stitched = joins.reduce((a, r) => a + r.stitched, 0);
  const errors = joins.map((r) => r.errors).filter((e) => Object.keys(e).length > 0);
  log(`UZP: ${stitched} of ${pairs} pairs stitched in ${joinSecs.toFixed(1)} s${errors.length > 0 ? `; refusals ${JSON.stringify(errors)}` : ''}`);
  await sleep(1000);
  const ends = (await Promise.all(eps.map((p) => p.rpc('stitchCount')))).reduce((a, n) => a + n, 0);
  const rssS = await settledRss(uzp.proc);
  await Promise.all(eps.map((p) => p.rpc('closeAll', {}, 120_000)));
  await stop(uzp.proc);
  // Each stitch has two ends, one at each EP of the pair.
  return { rss0, rssN, rssS, attached: held, perS: attached / secs, stitchedPairs: Math.floor(ends / 2), stitchesPerS: stitched / joinSecs, pairs };
}

async function tlsSide(dir, eps) {
  const pki = makeTlsPki(dir);
  const server = spawnNode('tls-server', join(LIB, 'tls-server.mjs'), [dir], { nodeArgs: GC_NODE_ARGS, ipc: true });
  const { address } = await waitForJsonLine(server, (v) => v.event === 'listening');
  const rss0 = await settledRss(server);
  const t0 = Date.now();
  const open = (await Promise.all(split(Array.from({ length: N }), eps.length).map((xs, i) => eps[i].rpc('holdTls', { address, pki, n: xs.length }, 600_000)))).reduce((a, r) => a + r.open, 0);
  const secs = (Date.now() - t0) / 1000;
  log(`TLS: ${open} of ${N} connections in ${secs.toFixed(1)} s`);
  await sleep(2000);
  const rssN = await settledRss(server);
  await Promise.all(eps.map((p) => p.rpc('closeAll', {}, 120_000)));
  await stop(server);
  return { rss0, rssN, open, perS: open / secs };
}

await runBench(BENCH, async () => {
  const dir = tempDir('uzp-bench-scale-');
  try {
    const eps = await Promise.all(Array.from({ length: EP_PROCESSES }, (_, i) => spawnPeer(`ep${i + 1}`)));
    const tls = await tlsSide(dir, eps);
    const uzp = await uzpSide(dir, eps);
    const mb = (b) => (b / 1048576).toFixed(1) + ' MiB';
    log(`RN RSS: ${mb(uzp.rss0)} with 0 EPs, ${mb(uzp.rssN)} with ${uzp.attached}; TLS server: ${mb(tls.rss0)} with 0, ${mb(tls.rssN)} with ${tls.open}`);
    emit(BENCH, 'attached_eps', uzp.attached, 'endpoints', 'goal (issue #16): 10,000 attached to one RN', GOAL);
    emit(BENCH, 'rss_total_bytes', uzp.rssN, 'bytes', `node:tls server holding ${tls.open} idle mutual-auth TLS 1.3 connections`, tls.rssN);
    emit(BENCH, 'attach_per_s', uzp.perS, 'attachments/s', 'TLS 1.3 mutual-auth handshakes/s from the same EP processes', tls.perS);
    emit(BENCH, 'stitched_pairs', uzp.stitchedPairs, 'pairs', `goal (issue #16): 5,000 (${uzp.pairs} JOINed)`, PAIRS_GOAL);
    emit(BENCH, 'stitches_per_s', uzp.stitchesPerS, 'stitches/s', 'goal (issue #16): 1,000/s', STITCH_RATE_GOAL);
    emit(BENCH, 'rss_stitched_bytes', uzp.rssS, 'bytes', 'the same RN before the stitches (rss_total_bytes)', uzp.rssN);
  } finally {
    removeDir(dir);
  }
});
