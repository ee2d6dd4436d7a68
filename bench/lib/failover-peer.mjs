// One peer process of the failover bench, driven over IPC like bench/lib/peer.mjs ({id, cmd, args}
// -> {re, ok, result|error}; {event:'ready'} once). The same process runs both streams, so both are
// measured under the same process, event loop and scheduler conditions:
//   UZP: an Endpoint with continuity (product defaults: PoR 1 s / 2.5 s, 30 s window) on a LinkPool
//        (warm standby at a second RN, product backoff), one session, one channel;
//   TLS: TLS 1.3 over one of two TCP relays; the client resumes its session (ticket) through the
//        other relay when its connection drops; the server keeps a waiting socket at every relay
//        it is not using (the counterpart of the responder's warm-standby attachment).
// Each side sends one numbered, timestamped 64-byte message per tick on each stream, both ways.
// Message: u32be seq || u32 zero || u64be send time (hrtime ns, CLOCK_MONOTONIC: comparable with
// the bench's kill time) || zeros. Receivers count duplicates and gaps from the sequence numbers
// and keep the last receptions, so the bench can ask "first message sent at/after T: when did it
// arrive?" after the fact.

import { connect as tcpConnect } from 'node:net';
import { TLSSocket, connect as tlsConnect, createSecureContext } from 'node:tls';
import { Endpoint } from '../../dist/uzp/endpoint.js';
import { LinkPool } from '../../dist/uzp/link/link-pool.js';
import { TLS_SERVER_NAME } from './certs.mjs';
import { fromHex, peerIdentity, peerTrust, toHex } from './domain.mjs';
import { FrameReader, frameMessage } from './framing.mjs';

const nowNs = () => process.hrtime.bigint();
const send = (m) => process.send?.(m);
const MSG_BYTES = 64;
const RING = 1 << 15; // receptions kept: ~80 s at 400 msg/s
const MAX_MISSING = 1 << 20;

function numbered(seq) {
  const m = new Uint8Array(MSG_BYTES);
  const v = new DataView(m.buffer);
  v.setUint32(0, seq);
  v.setBigUint64(8, nowNs());
  return m;
}

/** Receive side of one stream: exactly-once / order accounting and a ring of recent receptions. */
class Rx {
  next = 0;
  unique = 0;
  dup = 0;
  outOfOrder = 0;
  gapped = 0;
  missing = new Set();
  n = 0;
  sent = new BigInt64Array(RING);
  recv = new BigInt64Array(RING);
  seqs = new Uint32Array(RING);
  waiters = [];

  on(m) {
    if (m.byteLength < 16) return;
    const v = new DataView(m.buffer, m.byteOffset, m.byteLength);
    const seq = v.getUint32(0);
    const sent = v.getBigUint64(8);
    const recv = nowNs();
    if (seq === this.next) {
      this.next++;
      this.unique++;
    } else if (seq > this.next) {
      const gap = seq - this.next;
      this.gapped += gap;
      if (this.missing.size + gap <= MAX_MISSING) for (let s = this.next; s < seq; s++) this.missing.add(s);
      this.next = seq + 1;
      this.unique++;
    } else if (this.missing.delete(seq)) {
      this.outOfOrder++;
      this.unique++;
    } else this.dup++;
    const i = this.n++ % RING;
    this.sent[i] = sent;
    this.recv[i] = recv;
    this.seqs[i] = seq;
    for (const w of [...this.waiters]) {
      if (sent >= w.after) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        clearTimeout(w.timer);
        w.resolve({ recvNs: String(recv), sentNs: String(sent), seq });
      }
    }
  }

  /** The first reception (in arrival order) of a message sent at or after `after` (ns). */
  firstAfter(after, timeoutMs) {
    for (let k = Math.max(0, this.n - RING); k < this.n; k++) {
      const i = k % RING;
      if (this.sent[i] >= after) return Promise.resolve({ recvNs: String(this.recv[i]), sentNs: String(this.sent[i]), seq: this.seqs[i] });
    }
    return new Promise((resolve, reject) => {
      const w = { after, resolve };
      w.timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        reject(new Error(`no message sent after the mark arrived within ${timeoutMs} ms (received ${this.n} in all)`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  get stats() {
    return { received: this.n, unique: this.unique, duplicates: this.dup, outOfOrder: this.outOfOrder, gapped: this.gapped, missing: this.missing.size, next: this.next };
  }
}

/** Send side of one stream: one message per tick; a refused message keeps its number (re-stamped). */
class Tx {
  seq = 0;
  errors = 0;
  constructor(trySend) {
    this.trySend = trySend;
  }
  tick() {
    try {
      if (this.trySend(numbered(this.seq))) this.seq++;
    } catch {
      this.errors++;
    }
  }
}

let sending = false;
let ticker = null;
let stopped = false;

// ---- UZP ----

const uzp = { pool: null, ep: null, session: null, channel: null, rn: null, failovers: 0, restitches: 0, failoverAt: 0n, restitchedAt: 0n, closed: null, sessions: 0, connect: null, rx: new Rx(), tx: null };
uzp.tx = new Tx((m) => uzp.channel !== null && uzp.channel.trySend(m));

function watch(session) {
  uzp.session = session;
  session.on('failover', () => {
    uzp.failovers++;
    uzp.failoverAt = nowNs();
  });
  session.on('restitched', (_generation, rnCid) => {
    uzp.restitches++;
    uzp.restitchedAt = nowNs();
    if (rnCid !== undefined) uzp.rn = toHex(rnCid);
  });
  session.on('close', (e) => {
    if (uzp.session === session) uzp.closed = String(e ?? 'closed');
  });
  uzp.closed = null;
  uzp.sessions++;
}

async function uzpStart(a) {
  const trust = peerTrust(a.rootPublic, a.rnSet);
  const me = peerIdentity(a.me);
  const responder = a.role === 'responder';
  // Product defaults for the pool (2 links, backoff) and for continuity (PoR, window).
  const pool = new LinkPool({ trust, identity: { seed: me.seed, pcert: me.pcert }, accept: responder });
  // The pool as the Endpoint's link port (standby stitches need attachedRns, as in the product).
  const port = {
    join: (...args) => pool.join(...args),
    attachedRns: () => pool.attachedRns(),
    accept: () => pool.accept(),
    on: (e, cb) => pool.on(e, cb),
    off: (e, cb) => pool.off(e, cb),
  };
  const ep = new Endpoint({ trust, identity: { cid: me.cid, signer: me.signer, pcert: me.pcert }, link: port, continuity: { trust } });
  uzp.pool = pool;
  uzp.ep = ep;
  pool.start();
  if (responder) {
    ep.on('refused', (e) => process.stderr.write(`responder refused a session: ${e?.message}\n`));
    ep.on('session', (session) => {
      watch(session);
      session.on('channel', (ch) => {
        uzp.channel = ch;
        ch.on('message', (m) => uzp.rx.on(m));
      });
    });
    ep.accept();
    await waitFor(() => pool.links.length >= 2, 20_000, 'responder: two RN links');
    return {};
  }
  await waitFor(() => pool.links.length >= 2, 20_000, 'initiator: two RN links');
  uzp.connect = async () => {
    const session = await ep.connect(fromHex(a.target), fromHex(a.grant));
    uzp.rn = session.rnCid === undefined ? null : toHex(session.rnCid);
    watch(session);
    const ch = session.openChannel();
    ch.on('message', (m) => uzp.rx.on(m));
    uzp.channel = ch;
    return { rn: uzp.rn };
  };
  return uzp.connect();
}

/**
 * The session ended (a re-stitch that failed for good): open a fresh one, as an application
 * would. The numbering goes on, so whatever the old session held counts as lost.
 */
async function uzpReconnect() {
  const t0 = Date.now();
  for (let attempts = 1; ; attempts++) {
    await waitFor(() => uzp.pool.links.length >= 1, 20_000, 'initiator: an RN link');
    try {
      return { ...(await uzp.connect()), attempts };
    } catch (e) {
      // Until the two pools share an RN again, JOIN is refused everywhere: retry, as an application would.
      if (Date.now() - t0 > 20_000) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

function uzpStatus() {
  const s = uzp.session;
  return {
    state: s?.state ?? 'none',
    rn: uzp.rn,
    links: uzp.pool?.links.map((l) => l.address) ?? [],
    failovers: uzp.failovers,
    restitches: uzp.restitches,
    failoverAt: String(uzp.failoverAt),
    restitchedAt: String(uzp.restitchedAt),
    closed: uzp.closed,
    sessions: uzp.sessions,
    sent: uzp.tx.seq,
    sendErrors: uzp.tx.errors,
    rx: uzp.rx.stats,
    engine: s ? s.stats : undefined,
    por: s?.failover?.liveness?.stats,
  };
}

// ---- TLS 1.3 over two relays ----

const tls = { role: null, relays: [], ctx: null, active: null, activeRelay: -1, sockets: [null, null], ticket: undefined, resumed: 0, full: 0, lostAt: 0n, rx: new Rx(), tx: null };
tls.tx = new Tx((m) => {
  if (tls.active === null) return false;
  tls.active.write(frameMessage(m));
  return true;
});

function dial(address, onSocket, onFail) {
  const i = address.lastIndexOf(':');
  const raw = tcpConnect({ host: address.slice(0, i), port: Number(address.slice(i + 1)), noDelay: true });
  const fail = () => {
    raw.destroy();
    onFail();
  };
  raw.once('error', fail);
  raw.once('connect', () => {
    raw.off('error', fail);
    onSocket(raw);
  });
}

/** TLS client: connect through relay `i`; on loss, resume through the other relay at once. */
function clientVia(i) {
  if (stopped) return;
  dial(
    tls.relays[i],
    (raw) => {
      const s = tlsConnect({ socket: raw, servername: TLS_SERVER_NAME, secureContext: tls.ctx, ...(tls.ticket ? { session: tls.ticket } : {}) });
      const reader = new FrameReader((m) => tls.rx.on(m));
      s.on('session', (t) => (tls.ticket = t));
      s.on('secureConnect', () => {
        if (!s.authorized) return s.destroy();
        if (s.isSessionReused()) tls.resumed++;
        else tls.full++;
        tls.active = s;
        tls.activeRelay = i;
        tls.tx.tick(); // its next message goes out at once
      });
      s.on('data', (c) => reader.push(c));
      s.on('error', () => s.destroy());
      s.on('close', () => {
        const was = tls.active === s;
        if (was) {
          tls.active = null;
          tls.lostAt = nowNs(); // when the client learned of the loss (the bench's detection figure)
        }
        setTimeout(() => clientVia(1 - i), was ? 0 : 20);
      });
    },
    () => setTimeout(() => clientVia(1 - i), 20),
  );
}

/** TLS server: a socket waits at every relay it is not using; whichever handshakes is the active one. */
function serverAt(i) {
  if (stopped || tls.sockets[i] !== null) return;
  tls.sockets[i] = 'dialing';
  dial(
    tls.relays[i],
    (raw) => {
      const t = new TLSSocket(raw, { isServer: true, requestCert: true, rejectUnauthorized: true, secureContext: tls.ctx });
      tls.sockets[i] = t;
      const reader = new FrameReader((m) => tls.rx.on(m));
      t.on('secure', () => {
        if (t.isSessionReused()) tls.resumed++;
        else tls.full++;
        tls.active = t;
        tls.activeRelay = i;
        tls.tx.tick();
      });
      t.on('data', (c) => reader.push(c));
      t.on('error', () => t.destroy());
      t.on('close', () => {
        if (tls.active === t) tls.active = null;
        if (tls.sockets[i] === t) tls.sockets[i] = null;
        serverAt(i);
      });
    },
    () => {
      tls.sockets[i] = null;
      setTimeout(() => serverAt(i), 20);
    },
  );
}

async function tlsStart(a) {
  tls.role = a.role;
  tls.relays = a.relays;
  const side = a.role === 'server' ? 'server' : 'client';
  // sessionIdContext: OpenSSL resumes a session with a verified client certificate only in a context that names itself.
  tls.ctx = createSecureContext({ key: a.pki[side].key, cert: a.pki[side].cert, ca: [a.pki.ca], minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3', ...(side === 'server' ? { sessionIdContext: 'uzp-bench-failover' } : {}) });
  if (side === 'server') {
    serverAt(0);
    serverAt(1);
    await waitFor(() => tls.sockets.every((s) => s instanceof TLSSocket), 10_000, 'TLS server: waiting sockets at both relays');
  } else {
    clientVia(0);
    await waitFor(() => tls.active !== null && tls.ticket !== undefined, 10_000, 'TLS client: connected, ticket received');
  }
  return {};
}

function tlsStatus() {
  return {
    connected: tls.active !== null,
    relay: tls.activeRelay,
    lostAt: String(tls.lostAt),
    waiting: tls.sockets.map((s, i) => s instanceof TLSSocket && s !== tls.active && i !== tls.activeRelay),
    resumed: tls.resumed,
    full: tls.full,
    sent: tls.tx.seq,
    rx: tls.rx.stats,
  };
}

// ---- common ----

function waitFor(cond, timeoutMs, what) {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const check = () => {
      if (cond()) return resolve();
      if (Date.now() - t0 > timeoutMs) return reject(new Error(`timed out after ${timeoutMs} ms: ${what}`));
      setTimeout(check, 10);
    };
    check();
  });
}

function closeAll() {
  stopped = true;
  clearInterval(ticker);
  uzp.session?.close();
  uzp.pool?.stop();
  for (const s of tls.sockets) if (s instanceof TLSSocket) s.destroy();
  tls.active?.destroy();
  return {};
}

const commands = {
  uzpStart,
  uzpReconnect,
  tlsStart,
  /** Start both streams: one message per stream every `tickMs`. */
  run: ({ tickMs }) => {
    sending = true;
    ticker = setInterval(() => {
      if (!sending) return;
      uzp.tx.tick();
      tls.tx.tick();
    }, tickMs);
    return {};
  },
  stopSending: () => {
    sending = false;
    clearInterval(ticker);
    return { uzp: uzp.tx.seq, tls: tls.tx.seq };
  },
  status: () => ({ uzp: uzpStatus(), tls: tlsStatus() }),
  /** When the first message of `stream` sent at or after `ns` arrived here. */
  firstAfter: ({ stream, ns, timeoutMs }) => (stream === 'uzp' ? uzp.rx : tls.rx).firstAfter(BigInt(ns), timeoutMs),
  closeAll,
};

process.on('message', async (m) => {
  const fn = commands[m?.cmd];
  try {
    if (fn === undefined) throw new Error(`unknown command ${m?.cmd}`);
    send({ re: m.id, ok: true, result: await fn(m.args ?? {}) });
  } catch (e) {
    send({ re: m.id, ok: false, error: String(e?.stack ?? e) });
  }
});
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => {
  closeAll();
  process.exit(0);
});
send({ event: 'ready', pid: process.pid });
