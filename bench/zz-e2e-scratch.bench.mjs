// Scenario 1: end-to-end throughput between two EP processes through the RN, against TLS 1.3
// (mutual auth, Ed25519 certificates) between the same two processes through a plain TCP relay.
// Measured from the sender's first message until the receiver has every byte (the receiver
// reports its hrtime over IPC). Rounds are interleaved (UZP and TLS alternate who goes first) and
// the median of the rounds is reported.
//   throughput_16k[_aesgcm|_hybrid]  MB/s (10^6 payload bytes/s), 16 KiB messages
//   msgs_64b[_aesgcm|_hybrid]        msg/s, 64-byte messages
// ratio = uzp / tls (goal >= 1.0).

import { SUITE_AESGCM, SUITE_CHACHA, SUITE_HYBRID } from '../dist/uzp/handshake/suites.js';
import { QUICK, cpuMs, emit, log, median, removeDir, runBench, tempDir } from './lib/harness.mjs';
import { TLS_AESGCM, TLS_CHACHA, startPeers, startTls, startUzp } from './lib/topology.mjs';

const BENCH = 'e2e-throughput';
const LINES = (k) => !process.env.XL || process.env.XL.split(',').includes(k);
const SIDES = process.env.XS ? [process.env.XS] : ['uzp', 'tls'];
const ROUNDS = QUICK ? 1 : 5;
const SIZES = [
  { metric: 'throughput_16k', size: 16 * 1024, count: QUICK ? 512 : 4096, unit: 'MB/s' }, // 64 MiB
  { metric: 'msgs_64b', size: 64, count: QUICK ? 20_000 : 400_000, unit: 'msg/s' },
];
const VARIANTS = [
  { name: 'chacha20', suffix: '', suite: SUITE_CHACHA, tls: TLS_CHACHA, baseline: 'tls13_chacha20poly1305_via_tcp_relay' },
  { name: 'aesgcm', suffix: '_aesgcm', suite: SUITE_AESGCM, tls: TLS_AESGCM, baseline: 'tls13_aes256gcm_via_tcp_relay' },
  // node:tls on the pinned runtime (OpenSSL 3.5) negotiates the X25519MLKEM768 group by default, so every
  // TLS connection here already has a hybrid key exchange (stderr shows the group): the same ChaCha20
  // connection is the hybrid suite's baseline.
  { name: 'hybrid', suffix: '_hybrid', suite: SUITE_HYBRID, tls: TLS_CHACHA, baseline: 'tls13_chacha20poly1305_via_tcp_relay' },
];

/**
 * Seconds from the sender's start to the receiver's last byte; `cpu` (when given: { pids, into })
 * gets each process's CPU ms per MB of payload pushed, for the stderr summary.
 */
async function measure(peers, key, count, size, cpu) {
  const { responder, initiator } = peers;
  await responder.rpc('arm', { messages: count, bytes: count * size });
  const done = responder.nextEvent((m) => m.event === 'received', 45_000);
  const c0 = cpu?.pids.map((p) => cpuMs(p));
  const { t0 } = await initiator.rpc('send', { key, count, size }, 45_000);
  const { t1 } = await done;
  if (cpu) cpu.into.push(cpu.pids.map((p, i) => (cpuMs(p) - c0[i]) / ((count * size) / 1e6)));
  return Number(BigInt(t1) - BigInt(t0)) / 1e9;
}

await runBench(BENCH, async () => {
  const dir = tempDir('uzp-bench-e2e-');
  try {
    const uzp = await startUzp(dir, { logLevel: 'info' });
    const tls = await startTls(dir);
    const peers = await startPeers();
    const { responder, initiator } = peers;

    await responder.rpc('uzpListen', uzp.responderArgs({ echo: false }));
    for (const v of VARIANTS) {
      await initiator.rpc('uzpConnect', uzp.initiatorArgs({ key: `uzp-${v.name}`, suite: v.suite }));
      // The relay pairs consecutive connections: the server side connects first.
      await responder.rpc('tlsListen', { relay: tls.relay, pki: tls.pki, echo: false });
      const c = await initiator.rpc('tlsConnect', { key: `tls-${v.name}`, relay: tls.relay, pki: tls.pki, cipher: v.tls });
      log(`${v.name}: UZP session up; TLS ${c.protocol} ${c.cipher} ${c.group}`);
    }

    // Warm-up (JIT, socket buffers), not reported.
    for (const v of VARIANTS) {
      for (const s of SIZES) {
        for (const t of SIDES) if (LINES(`${s.metric}${v.suffix}`)) await measure(peers, `${t}-${v.name}`, Math.ceil(s.count / 8), s.size);
      }
    }

    const results = new Map(); // `${metric}${suffix}` -> { uzp: [], tls: [] }
    for (let round = 0; round < ROUNDS; round++) {
      for (const v of VARIANTS) {
        for (const s of SIZES) {
          const k = `${s.metric}${v.suffix}`;
          if (!LINES(k)) continue;
          if (!results.has(k)) results.set(k, { s, v, uzp: [], tls: [] });
          const r = results.get(k);
          const order = SIDES;
          for (const t of order) {
            r.cpu ??= { uzp: [], tls: [] };
            const pids = [initiator.pid, t === 'uzp' ? uzp.proc.pid : tls.proc.pid, responder.pid];
            const sec = await measure(peers, `${t}-${v.name}`, s.count, s.size, { pids, into: r.cpu[t] });
            const value = s.unit === 'MB/s' ? (s.count * s.size) / 1e6 / sec : s.count / sec;
            r[t].push(value);
            log(`round ${round + 1} ${k} ${t}: ${value.toFixed(1)} ${s.unit} (${(sec * 1000).toFixed(0)} ms)`);
          }
        }
      }
    }
    for (const [k, r] of results) {
      if (SIDES.length === 2) emit(BENCH, k, median(r.uzp), r.s.unit, r.v.baseline, median(r.tls ?? []));
      // CPU ms per MB by process, medians over the rounds (USER_HZ ticks: coarse on the short 64 B runs).
      const per = (xs) => [0, 1, 2].map((i) => median(xs.map((x) => x[i])).toFixed(2)).join(' / ');
      log(`${k} CPU ms per MB, sender / relay / receiver: uzp ${per(r.cpu.uzp)}; tls ${per(r.cpu.tls)}`);
    }
    for (const [k, st] of Object.entries(await initiator.rpc('stats'))) {
      log(`${k} sender: blocks ${st.blocksSent}, retransmits ${st.retransmits}, srtt ${st.rttMs?.toFixed(2)} ms`);
    }
    await Promise.all([responder.rpc('closeAll'), initiator.rpc('closeAll')]);
    const rn = await uzp.stopAndStats();
    if (rn) log(`RN: ${rn.framesRelayed} frames relayed, dropped ${JSON.stringify(rn.dropped)}`);
  } finally {
    removeDir(dir);
  }
});
