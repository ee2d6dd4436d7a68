// Scenario: session continuity across RN loss (issue #11, draft §11-§12). Lower is better.
//
// UZP: 3 RN processes (`uzpgw rn`) in one RN Set Statement; two peer processes (bench/lib/
// failover-peer.mjs) each hold a LinkPool (product defaults: links to two RNs) and an Endpoint with
// continuity { trust } (product defaults: PoR every 1 s, 2.5 s timeout; 30 s window); one session
// and one channel between them for the whole run, a numbered message every 5 ms each way.
// TLS 1.3 baseline: the same two processes, a TLS client and server (mutual auth, Ed25519) through
// one of two TCP relays (bench/lib/relay.mjs); the server keeps a waiting socket at the
// relay it is not using, the client resumes its session (ticket) through that relay on loss.
//
// restitch (N kills each, interleaved): SIGKILL the RN carrying the stitch (UZP) or the relay
// carrying the connection (TLS); both peers learn of it by connection loss (FIN/RST from the
// kernel). The killed process is restarted on the same port once the measurement is in (RN and
// relay alike, so neither boot loads the other side's window; there are 3 RNs / 2 relays again
// before the next kill). Time = from just before kill(2) until a message sent at or after that instant has
// arrived in BOTH directions (the later of the two arrivals; hrtime, CLOCK_MONOTONIC across
// processes). p50 / p99 (nearest rank; with N = 30 the p99 is the largest sample).
// lost / duplicate UZP messages: from the sequence numbers, both directions, over the whole run
// (all kills and blackholes), after the senders stop and everything in flight has arrived.
// blackhole: SIGSTOP the RN carrying the stitch (connections stay up; only PoR can tell); time until
// a message sent after the stop has arrived both ways (necessarily through another RN, checked);
// then SIGCONT. See docs/BENCH.md "failover".

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { signArtefact } from '../dist/uzp/artefacts/sign.js';
import { makeTlsPki } from './lib/certs.mjs';
import { BenchDomain, provider, toHex } from './lib/domain.mjs';
import { CLI, LIB, QUICK, log, median, nowNs, removeDir, runBench, sleep, spawnNode, stop, tempDir, waitForJsonLine } from './lib/harness.mjs';

const BENCH = 'failover';
const KILLS = QUICK ? 4 : 30;
const BLACKHOLES = QUICK ? 1 : 3;
const TICK_MS = 5;
const WAIT_MS = 30_000;
/** A blackhole not re-stitched by then (3x its goal) counts as failed; the RN gets SIGCONT. */
const BLACKHOLE_LIMIT_MS = 15_000;
const TLS_BASELINE = 'tls13_resumed_via_second_tcp_relay';

/** Nearest-rank percentile. */
function percentile(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.max(0, Math.ceil(p * s.length) - 1)];
}

const r6 = (x) => Number(x.toPrecision(6));
function line(o) {
  process.stdout.write(JSON.stringify({ bench: BENCH, ...o }) + '\n');
}

/** A restartable child listening on a fixed address after its first start (port 0 at first). */
class Restartable {
  constructor(name, argsFor, ipc = false) {
    this.name = name;
    this.argsFor = argsFor;
    this.ipc = ipc;
    this.address = '127.0.0.1:0';
    this.proc = null;
    this.starts = 0;
  }

  async start() {
    for (let attempt = 1; ; attempt++) {
      const [script, args] = this.argsFor(this.address);
      const proc = spawnNode(`${this.name}.${++this.starts}`, script, args, { ipc: this.ipc });
      try {
        const { address } = await waitForJsonLine(proc, (v) => v.event === 'listening', 20_000);
        this.proc = proc;
        this.address = address;
        return;
      } catch (e) {
        // EADDRINUSE right after the kill, seen as an exit: try again shortly.
        await stop(proc);
        if (attempt >= 20) throw e;
        await sleep(100);
      }
    }
  }

  /** SIGKILL (or another signal) to this pid; resolves once it is gone (SIGKILL) or signalled. */
  signal(sig) {
    process.kill(this.proc.pid, sig);
  }

  async restartAfterKill() {
    await this.proc.exited;
    await this.start();
  }
}

function rnSetOf(domain, rns) {
  const now = domain.now;
  const bytes = signArtefact(
    provider,
    domain.root.signer,
    { type: 'rn-set', issuedAt: now, notBefore: now - 60, expiresAt: now + 86_400, epoch: 1, sequence: 1 },
    { scope: 'bench', rns: rns.map((r) => ({ cid: r.member.identity.cid, publicKey: r.member.identity.publicKey, addresses: [r.address], roles: ['relay'] })) },
  );
  return toHex(bytes);
}

const strip = (m) => ({ seed: m.seed, cid: m.cid, pcert: m.pcert });

async function spawnFailoverPeer(name) {
  const p = spawnNode(name, join(LIB, 'failover-peer.mjs'), [], { ipc: true });
  await p.nextEvent((m) => m.event === 'ready', 15_000);
  return p;
}

await runBench(BENCH, async () => {
  const dir = tempDir('uzp-bench-failover-');
  const stopped = new Set(); // RNs under SIGSTOP, continued whatever happens
  try {
    // ---- UZP: domain, 3 RNs, the RN Set Statement naming all three ----
    const domain = new BenchDomain();
    const rns = [];
    for (let i = 0; i < 3; i++) {
      const member = domain.member('rn');
      const rnDir = join(dir, `rn${i}`);
      mkdirSync(rnDir);
      const files = domain.writeRnFiles(rnDir, member);
      const rn = new Restartable(`rn${i}`, (addr) => [CLI, ['rn', '--listen', addr, '--trust', files.trust, '--key', files.key, '--log-level', 'warn', '--drain-ms', '0']]);
      rn.member = member;
      rn.cid = member.cid;
      await rn.start();
      rns.push(rn);
    }
    const rnSet = rnSetOf(domain, rns);
    const rnByCid = new Map(rns.map((r) => [r.cid, r]));
    const gateway = domain.member('gateway');
    const operator = domain.member('operator');
    const grant = domain.grant(operator.cid, gateway.cid);
    log(`RNs: ${rns.map((r) => `${r.name} pid ${r.proc.pid} ${r.address}`).join(', ')}`);

    // ---- TLS: PKI, 2 relays ----
    const pki = makeTlsPki(dir);
    const relays = [];
    for (let i = 0; i < 2; i++) {
      const relay = new Restartable(`relay${i}`, (addr) => [join(LIB, 'relay.mjs'), [addr]], true);
      await relay.start();
      relays.push(relay);
    }
    log(`relays: ${relays.map((r) => `${r.name} pid ${r.proc.pid} ${r.address}`).join(', ')}`);

    // ---- peers, session, streams ----
    const [responder, initiator] = await Promise.all([spawnFailoverPeer('responder'), spawnFailoverPeer('initiator')]);
    log(`peers: responder pid ${responder.pid}, initiator pid ${initiator.pid}`);
    const base = { rootPublic: domain.rootPublicHex, rnSet };
    await responder.rpc('uzpStart', { ...base, role: 'responder', me: strip(gateway) });
    const { rn: firstRn } = await initiator.rpc('uzpStart', { ...base, role: 'initiator', me: strip(operator), target: gateway.cid, grant });
    log(`UZP session stitched at ${rnByCid.get(firstRn)?.name}`);
    const relayAddrs = relays.map((r) => r.address);
    await responder.rpc('tlsStart', { role: 'server', relays: relayAddrs, pki });
    await initiator.rpc('tlsStart', { role: 'client', relays: relayAddrs, pki });
    await Promise.all([responder.rpc('run', { tickMs: TICK_MS }), initiator.rpc('run', { tickMs: TICK_MS })]);
    await sleep(2_000); // warm-up: JIT, first PoR rounds

    const status = async () => {
      const [i, r] = await Promise.all([initiator.rpc('status'), responder.rpc('status')]);
      return { i, r };
    };
    const nameOf = (address) => rns.find((q) => q.address === address)?.name ?? address;

    /**
     * Until the `kind` streams flow both ways again and the failover machinery is back in place:
     * UZP both sessions stitched, both pools at two RNs; TLS connected, the server waiting at the
     * other relay. Whether the two pools share an RN besides the stitch's (a warm standby the
     * re-stitch can JOIN at) is returned, not waited for: nothing makes two pools converge.
     */
    const ready = async (kind) => {
      const t0 = Date.now();
      let prev = await status();
      for (;;) {
        await sleep(100);
        const cur = await status();
        const flowing = cur.i[kind].rx.unique > prev.i[kind].rx.unique && cur.r[kind].rx.unique > prev.r[kind].rx.unique;
        let up;
        let common = false;
        if (kind === 'uzp') {
          const stitchAt = rnByCid.get(cur.i.uzp.rn)?.address;
          common = cur.i.uzp.links.some((a) => a !== stitchAt && cur.r.uzp.links.includes(a));
          up = cur.i.uzp.state === 'stitched' && cur.r.uzp.state === 'stitched' && cur.i.uzp.links.length === 2 && cur.r.uzp.links.length === 2;
        } else {
          up = cur.i.tls.connected && cur.r.tls.connected && cur.r.tls.waiting[1 - cur.i.tls.relay] === true;
        }
        if (flowing && up) return { st: cur, waitedMs: Date.now() - t0, common };
        if (Date.now() - t0 > WAIT_MS) throw new Error(`${kind}: not back ${WAIT_MS} ms after the last failover: ${JSON.stringify(cur)}`);
        prev = cur;
      }
    };

    /** Both directions: when did the first message sent at/after t0 arrive? Returns [up, down] ms. */
    const firstBothWays = async (stream, t0, timeoutMs = WAIT_MS) => {
      const args = { stream, ns: String(t0), timeoutMs };
      const both = Promise.all([responder.rpc('firstAfter', args, timeoutMs + 5_000), initiator.rpc('firstAfter', args, timeoutMs + 5_000)]);
      // Slow failovers say what the two sides see, every 2 s, until they are over.
      let slow = true;
      void both.finally(() => (slow = false)).catch(() => {});
      void (async () => {
        for (let n = 1; ; n++) {
          await sleep(2_000);
          if (!slow) return;
          const st = await status().catch(() => undefined);
          const brief = (x) => ({ state: x.uzp.state, rn: rnByCid.get(x.uzp.rn)?.name, links: x.uzp.links.map(nameOf), failovers: x.uzp.failovers, restitches: x.uzp.restitches, closed: x.uzp.closed });
          if (st) log(`${stream} failover still running after ${2 * n} s: initiator ${JSON.stringify(brief(st.i))}, responder ${JSON.stringify(brief(st.r))}`);
        }
      })();
      const [up, down] = await both;
      return [up, down].map((x) => Number(BigInt(x.recvNs) - t0) / 1e6);
    };

    /**
     * After a UZP failure at t0: { ms: [up, down] } once a message sent after t0 arrived both ways.
     * If that takes more than `limitMs`, `onLimit` runs (SIGCONT for a blackhole) and the result
     * has late: true. If the session ends instead, the initiator opens a fresh one, as an
     * application would: { ended, freshMs } (freshMs: until that one delivered both ways; not a
     * re-stitch, not in the re-stitch figures).
     */
    const afterUzpFailure = async (t0, limitMs, onLimit) => {
      const first = firstBothWays('uzp', t0, limitMs + WAIT_MS).then((ms) => ({ ms }));
      first.catch(() => {});
      let settled = false;
      const ended = (async () => {
        while (!settled) {
          await sleep(50);
          const i = await initiator.rpc('status');
          if (i.uzp.closed) return { ended: i.uzp.closed };
        }
        return new Promise(() => {});
      })();
      let late = false;
      let r = await Promise.race([first, ended, sleep(limitMs).then(() => ({ late: true }))]);
      if (r.late) {
        late = true;
        await onLimit?.();
        r = await Promise.race([first, ended]);
      }
      settled = true;
      if (r.ms) return { ms: r.ms, late };
      await initiator.rpc('uzpReconnect');
      return { ended: r.ended, freshMs: Math.max(...(await first).ms), late };
    };

    /** ms from t0 to: the initiator's and the responder's 'failover', the initiator's 'restitched'. */
    const phases = (t0, i, r) => [i.uzp.failoverAt, r.uzp.failoverAt, i.uzp.restitchedAt].map((ns) => (Number(BigInt(ns) - t0) / 1e6).toFixed(1));
    const phaseMs = [];
    const uzpMs = [];
    const tlsMs = [];
    const tlsSeen = [];
    const failed = []; // { what, k, common, ended, freshMs }
    const noCommon = { kill: 0, blackhole: 0 };
    const waits = { uzp: [], tls: [] };

    /** SIGKILL (kill) or SIGSTOP (blackhole) the RN carrying the stitch; returns ms or undefined if the session ended. */
    const uzpFailure = async (what, k) => {
      const { waitedMs, common } = await ready('uzp');
      waits.uzp.push(waitedMs);
      if (!common) noCommon[what]++;
      await sleep(100 + Math.random() * 300); // a random phase against the send and PoR timers
      const victim = rnByCid.get((await initiator.rpc('status')).uzp.rn);
      if (victim === undefined) throw new Error('the session is not stitched through a known RN');
      const t0 = nowNs();
      let out;
      if (what === 'kill') {
        victim.signal('SIGKILL');
        // Restarted once the measurement is in, for both streams alike: an RN boots the whole CLI, a
        // relay a few lines, and on 2 cores that boot would otherwise load only one side's window.
        out = await afterUzpFailure(t0, WAIT_MS);
        await victim.restartAfterKill();
        if (out.late && !out.ended) throw new Error(`no re-stitch within ${WAIT_MS} ms of killing ${victim.name}`);
      } else {
        victim.signal('SIGSTOP');
        stopped.add(victim);
        const resume = () => {
          if (!stopped.delete(victim)) return;
          log(`blackhole ${k}: no re-stitch after ${BLACKHOLE_LIMIT_MS} ms: SIGCONT ${victim.name}`);
          victim.signal('SIGCONT');
        };
        try {
          out = await afterUzpFailure(t0, BLACKHOLE_LIMIT_MS, resume);
        } finally {
          if (stopped.delete(victim)) victim.signal('SIGCONT');
        }
      }
      const { i, r } = await status();
      const now = rnByCid.get(i.uzp.rn);
      const standby = common ? 'a common standby' : 'NO common standby';
      if (out.ended || out.late) {
        failed.push({ what, k, common, ended: out.ended ?? `re-stitched only after SIGCONT, at ${now?.name}`, freshMs: out.freshMs });
        if (out.ended) log(`uzp ${what} ${k}: ${victim.name} (${standby}): the session ENDED (${out.ended}); a fresh session delivered both ways ${out.freshMs.toFixed(1)} ms after the ${what}`);
        else log(`uzp ${what} ${k}: ${victim.name} (${standby}): re-stitched at ${now?.name} only after SIGCONT, ${Math.max(...out.ms).toFixed(1)} ms after the stop`);
        return undefined;
      }
      const [up, down] = out.ms;
      if (now === victim) throw new Error(`after the ${what} of ${victim.name} the session still names it`);
      const ph = phases(t0, i, r);
      if (what === 'kill') phaseMs.push(ph);
      log(`uzp ${what} ${k}: ${victim.name} -> ${now?.name} (${standby}): up ${up.toFixed(1)} ms, down ${down.toFixed(1)} ms; failover at ${ph.join(' / ')} ms (initiator / responder / re-stitched) (ready after ${waitedMs} ms)`);
      return Math.max(up, down);
    };
    const uzpKill = async (k) => {
      const ms = await uzpFailure('kill', k);
      if (ms !== undefined) uzpMs.push(ms);
    };
    const tlsKill = async (k) => {
      const { waitedMs } = await ready('tls');
      waits.tls.push(waitedMs);
      await sleep(100 + Math.random() * 300);
      const victim = relays[(await initiator.rpc('status')).tls.relay];
      const t0 = nowNs();
      victim.signal('SIGKILL');
      const [up, down] = await firstBothWays('tls', t0);
      await victim.restartAfterKill();
      tlsMs.push(Math.max(up, down));
      const seen = (Number(BigInt((await initiator.rpc('status')).tls.lostAt) - t0) / 1e6).toFixed(1);
      tlsSeen.push(Number(seen));
      log(`tls kill ${k}: ${victim.name}: up ${up.toFixed(1)} ms, down ${down.toFixed(1)} ms; client saw the loss at ${seen} ms (ready after ${waitedMs} ms)`);
    };

    for (let k = 0; k < KILLS; k++) {
      if (k % 2 === 0) {
        await uzpKill(k);
        await tlsKill(k);
      } else {
        await tlsKill(k);
        await uzpKill(k);
      }
    }

    // ---- blackhole: SIGSTOP the stitch's RN; only PoR can tell ----
    const holeMs = [];
    for (let k = 0; k < BLACKHOLES; k++) {
      const ms = await uzpFailure('blackhole', k);
      if (ms !== undefined) holeMs.push(ms);
    }
    await ready('uzp');

    // ---- drain and count ----
    // Senders stop; whatever is in flight (retransmissions included) arrives, or nothing more
    // arrives for 5 s (what a session that ended held is lost for good).
    const sent = await Promise.all([initiator.rpc('stopSending'), responder.rpc('stopSending')]);
    let st = await status();
    for (let lastChange = Date.now(), seen = -1; ; ) {
      const got = st.r.uzp.rx.unique + st.i.uzp.rx.unique;
      if (got >= sent[0].uzp + sent[1].uzp) break;
      if (got !== seen) [seen, lastChange] = [got, Date.now()];
      else if (Date.now() - lastChange > 5_000) break;
      await sleep(100);
      st = await status();
    }
    const up = st.r.uzp.rx;
    const down = st.i.uzp.rx;
    const lost = sent[0].uzp - up.unique + (sent[1].uzp - down.unique);
    const dup = up.duplicates + down.duplicates;
    log(`uzp up: sent ${sent[0].uzp}, ${JSON.stringify(up)}; down: sent ${sent[1].uzp}, ${JSON.stringify(down)}`);
    log(`uzp failovers: initiator ${st.i.uzp.failovers} (re-stitched ${st.i.uzp.restitches}, sessions ${st.i.uzp.sessions}), responder ${st.r.uzp.failovers} (re-stitched ${st.r.uzp.restitches}, sessions ${st.r.uzp.sessions}); initiator engine ${JSON.stringify(st.i.uzp.engine)}`);
    const tlsUp = st.r.tls.rx;
    const tlsDown = st.i.tls.rx;
    log(`tls: handshakes resumed ${st.i.tls.resumed} / full ${st.i.tls.full} (client), resumed ${st.r.tls.resumed} / full ${st.r.tls.full} (server); lost without an application-level replay: up ${sent[0].tls - tlsUp.unique}, down ${sent[1].tls - tlsDown.unique} of ${sent[0].tls + sent[1].tls}`);
    log(`uzp kill ms: ${uzpMs.map((x) => x.toFixed(1)).join(' ')}`);
    log(`tls kill ms: ${tlsMs.map((x) => x.toFixed(1)).join(' ')}`);
    log(`blackhole ms: ${holeMs.map((x) => x.toFixed(1)).join(' ')}`);
    if (tlsSeen.length > 0) log(`tls kills, median from the kill: client saw the loss at ${median(tlsSeen)} ms`);
    if (phaseMs.length > 0) log(`uzp kills, medians from the kill: initiator failover ${median(phaseMs.map((p) => Number(p[0])))} ms, responder failover ${median(phaseMs.map((p) => Number(p[1])))} ms, re-stitched ${median(phaseMs.map((p) => Number(p[2])))} ms`);
    log(`median wait until back in place before a failure: uzp ${median(waits.uzp)} ms, tls ${median(waits.tls)} ms; without a common standby RN: ${noCommon.kill} of ${KILLS} kills, ${noCommon.blackhole} of ${BLACKHOLES} blackholes`);
    for (const f of failed) log(`session ended at ${f.what} ${f.k} (${f.common ? 'with' : 'without'} a common standby): ${f.ended}`);
    if (st.i.tls.resumed === 0) throw new Error('the TLS client never resumed a session: the baseline is not what it claims');

    await Promise.all([initiator.rpc('closeAll'), responder.rpc('closeAll')]);

    // ---- figures ----
    const pct = (xs, p) => (xs.length === 0 ? null : r6(percentile(xs, p)));
    const [u50, u99, t50, t99] = [pct(uzpMs, 0.5), pct(uzpMs, 0.99), pct(tlsMs, 0.5), pct(tlsMs, 0.99)];
    const ratio = (a, b) => (a === null || b === null ? null : r6(a / b));
    line({ metric: 'restitch_p50_ms', value: u50, unit: 'ms', baseline: TLS_BASELINE, baseline_value: t50, ratio: ratio(u50, t50), n: uzpMs.length, goal: '<= 1000 ms, ratio <= 1.0', met: u50 !== null && u50 <= 1000 && ratio(u50, t50) <= 1 });
    line({ metric: 'restitch_p99_ms', value: u99, unit: 'ms', baseline: TLS_BASELINE, baseline_value: t99, ratio: ratio(u99, t99), n: uzpMs.length, goal: '<= 3000 ms', met: u99 !== null && u99 <= 3000 });
    const kills = failed.filter((f) => f.what === 'kill').length;
    line({ metric: 'failed_restitches', value: kills, unit: 'sessions ended', of: KILLS, goal: '0', met: kills === 0 });
    const total = sent[0].uzp + sent[1].uzp;
    line({ metric: 'lost_messages', value: lost, unit: 'messages', of: total, goal: '0', met: lost === 0 });
    line({ metric: 'duplicate_messages', value: dup, unit: 'messages', of: total, goal: '0', met: dup === 0 });
    const holes = failed.filter((f) => f.what === 'blackhole').length;
    line({ metric: 'blackhole_restitch_ms', value: holeMs.length ? r6(median(holeMs)) : null, unit: 'ms', max: holeMs.length ? r6(Math.max(...holeMs)) : null, n: holeMs.length, failed: holes, of: BLACKHOLES, goal: '<= 5000 ms (every repetition)', met: holes === 0 && Math.max(...holeMs) <= 5000 });
  } finally {
    for (const rn of stopped) {
      try {
        rn.signal('SIGCONT');
      } catch {
        // gone
      }
    }
    removeDir(dir);
  }
});
