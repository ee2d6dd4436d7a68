// Scenario 2: time to the first end-to-end byte. The responder is already attached (UZP) or
// already connected to the relay (TLS); the initiator process is already running and gets "go"
// over IPC, so process start-up is outside both measurements. Timed inside the initiator:
//   UZP: TCP connect to the RN + attach (HELLO..OK) + JOIN + E2E handshake + 64-byte message
//        + the responder's echo of it
//   TLS: TCP connect to the relay + TLS 1.3 mutual-auth handshake + the same echo
// and the 0-RTT line (draft §9, goal <= 1.0):
//   UZP: RN link up, a ticket held: JOIN + CH1 with the message as early data + the echo, sent by the
//        responder right behind its flight (0.5-RTT)
//   TLS: TCP connect to the relay + TLS 1.3 resumption with a session ticket (PSK, no certificates;
//        node:tls has no early data) + the same echo
// Repetitions are interleaved (the order alternates); medians in ms; ratio = uzp / tls (goal <= 1.5).

import { SUITE_CHACHA, SUITE_HYBRID } from '../dist/uzp/handshake/suites.js';
import { ATTACH1_WINDOW_FUTURE_MS } from '../dist/uzp/link/constants.js';
import { QUICK, emit, log, median, removeDir, runBench, sleep, tempDir } from './lib/harness.mjs';
import { TLS_CHACHA, startPeers, startTls, startUzp } from './lib/topology.mjs';

const BENCH = 'first-byte';
const REPS = QUICK ? 5 : 30;
const WARMUP = QUICK ? 1 : 3;
const SIZE = 64;
const VARIANTS = [
  { metric: 'time_to_first_byte', suite: SUITE_CHACHA },
  { metric: 'time_to_first_byte_hybrid', suite: SUITE_HYBRID },
  // Extra: the initiator's RN link is already up (a long-running operator EP keeps it attached),
  // so JOIN + handshake + echo only. The TLS baseline is unchanged (it has no such state).
  { metric: 'time_to_first_byte_link_up', suite: SUITE_CHACHA, reuseLink: true },
];
// The RN admits 20 HELLOs/s per source address (burst 40; src/uzp/link/constants.ts) and every
// UZP repetition attaches anew from 127.0.0.1: pace the repetitions (outside the timed part).
const PACE_MS = 60;

await runBench(BENCH, async () => {
  const dir = tempDir('uzp-bench-fb-');
  try {
    const uzp = await startUzp(dir);
    const rnUpAt = Date.now();
    const tls = await startTls(dir);
    const { responder, initiator } = await startPeers();
    await responder.rpc('uzpListen', uzp.responderArgs({ echo: true, zeroRtt: true }));

    const phaseMs = new Map(VARIANTS.map((v) => [v.metric, []]));
    const uzpOnce = async (v) => {
      const { ns, phases } = await initiator.rpc('firstByteUzp', uzp.initiatorArgs({ suite: v.suite, reuseLink: v.reuseLink === true, size: SIZE }), 20_000);
      phaseMs.get(v.metric).push(phases.map((p) => Number(p) / 1e6));
      await sleep(PACE_MS);
      return Number(ns) / 1e6;
    };
    const phases0rtt = [];
    const uzp0rttOnce = async () => {
      const { ns, phases } = await initiator.rpc('firstByteUzp0rtt', uzp.initiatorArgs({ suite: SUITE_CHACHA, size: SIZE, grant: uzp.grantEarly }), 20_000);
      phases0rtt.push(phases.map((p) => Number(p) / 1e6));
      return Number(ns) / 1e6;
    };
    let notResumed = 0;
    const tlsResumedOnce = async () => {
      await responder.rpc('tlsListen', { relay: tls.relay, pki: tls.pki, echo: true });
      const { ns, resumed } = await initiator.rpc('firstByteTlsResumed', { relay: tls.relay, pki: tls.pki, cipher: TLS_CHACHA, size: SIZE }, 20_000);
      if (!resumed) notResumed++;
      return Number(ns) / 1e6;
    };
    const tlsOnce = async () => {
      await responder.rpc('tlsListen', { relay: tls.relay, pki: tls.pki, echo: true });
      const { ns } = await initiator.rpc('firstByteTls', { relay: tls.relay, pki: tls.pki, cipher: TLS_CHACHA, size: SIZE }, 20_000);
      return Number(ns) / 1e6;
    };

    // An RN takes no 1-RTT attachment in its first ATTACH1_WINDOW_FUTURE_MS (what an earlier run
    // of it may have taken is unknown: src/rn/attach-strikes.ts); one in service has been up longer.
    await sleep(rnUpAt + ATTACH1_WINDOW_FUTURE_MS + 100 - Date.now());
    for (let i = 0; i < WARMUP; i++) {
      for (const v of VARIANTS) await uzpOnce(v);
      await tlsOnce();
      await uzp0rttOnce();
      await tlsResumedOnce();
    }
    notResumed = 0; // the first TLS connection had no ticket yet
    const tlsMs = [];
    const uzp0rttMs = [];
    const tlsResumedMs = [];
    const uzpMs = new Map(VARIANTS.map((v) => [v.metric, []]));
    for (let i = 0; i < REPS; i++) {
      const steps = [
        ...VARIANTS.map((v) => async () => uzpMs.get(v.metric).push(await uzpOnce(v))),
        async () => tlsMs.push(await tlsOnce()),
        async () => uzp0rttMs.push(await uzp0rttOnce()),
        async () => tlsResumedMs.push(await tlsResumedOnce()),
      ];
      if (i % 2 === 1) steps.reverse();
      for (const s of steps) await s();
    }
    log(`tls ms: ${tlsMs.map((x) => x.toFixed(2)).join(' ')}`);
    for (const v of VARIANTS) {
      log(`${v.metric} uzp ms: ${uzpMs.get(v.metric).map((x) => x.toFixed(2)).join(' ')}`);
      const ph = phaseMs.get(v.metric).slice(WARMUP);
      log(`${v.metric} median phases ms: attach ${median(ph.map((p) => p[0])).toFixed(2)}, join+handshake ${median(ph.map((p) => p[1])).toFixed(2)}, echo ${median(ph.map((p) => p[2])).toFixed(2)}`);
      emit(BENCH, v.metric, median(uzpMs.get(v.metric)), 'ms', 'tls13_mutual_auth_via_tcp_relay', median(tlsMs));
    }
    log(`time_to_first_byte_0rtt uzp ms: ${uzp0rttMs.map((x) => x.toFixed(2)).join(' ')}`);
    const ph0 = phases0rtt.slice(WARMUP);
    log(`time_to_first_byte_0rtt median phases ms: join + CH1 + early data until the session is up ${median(ph0.map((p) => p[0])).toFixed(2)}, then the echo ${median(ph0.map((p) => p[1])).toFixed(2)}`);
    log(`tls resumption ms: ${tlsResumedMs.map((x) => x.toFixed(2)).join(' ')} (${notResumed} of ${tlsResumedMs.length} not resumed)`);
    if (notResumed > 0) throw new Error(`${notResumed} TLS connections were not resumed: the baseline would not be resumption`);
    emit(BENCH, 'time_to_first_byte_0rtt', median(uzp0rttMs), 'ms', 'tls13_resumption_via_tcp_relay', median(tlsResumedMs));
    await Promise.all([responder.rpc('closeAll'), initiator.rpc('closeAll')]);
  } finally {
    removeDir(dir);
  }
});
