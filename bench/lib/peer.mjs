// One bench peer process, driven by its parent over IPC ({id, cmd, args} -> {re, ok, result|error};
// unsolicited {event, ...} messages). The same process runs the UZP side (RnLink + Endpoint from
// dist/) and the TLS 1.3 side (node:tls over a TCP relay), so both are measured under the same
// process, event loop and scheduler conditions. Timestamps are process.hrtime.bigint() (CLOCK_MONOTONIC,
// comparable across processes) sent as strings.

import { once } from 'node:events';
import { connect as tcpConnect } from 'node:net';
import { randomFillSync } from 'node:crypto';
import { TLSSocket, connect as tlsConnect, createSecureContext } from 'node:tls';
import { Endpoint } from '../../dist/uzp/endpoint.js';
import { RnLink } from '../../dist/uzp/link/rn-link.js';
import { nodeProvider } from '../../dist/uzp/crypto/node.js';
import { TicketCache } from '../../dist/uzp/resumption/ticket-cache.js';
import { TicketIssuer } from '../../dist/uzp/resumption/ticket-issuer.js';
import { fromHex, peerIdentity, peerTrust } from './domain.mjs';
import { TLS_SERVER_NAME } from './certs.mjs';
import { FrameReader, frameMessage } from './framing.mjs';

const nowNs = () => process.hrtime.bigint();
const send = (m) => process.send?.(m);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- receive side: one sink shared by every stream (the parent runs one measurement at a time) ----

const sink = { messages: 0, bytes: 0, target: null };

function received(m) {
  sink.messages++;
  sink.bytes += m.length;
  const t = sink.target;
  if (t !== null && sink.messages >= t.messages && sink.bytes >= t.bytes) {
    sink.target = null;
    send({ event: 'received', t1: String(nowNs()), messages: sink.messages, bytes: sink.bytes });
  }
}

// ---- UZP ----

const links = new Set();
/** rn-scale: held links by their CID (hex), and the stitches made on them. */
const byCid = new Map();
const stitches = [];
const sessions = new Map(); // key -> { session, channel }

function uzpSetup(a) {
  return { trust: peerTrust(a.rootPublic, a.rnSet), me: peerIdentity(a.me) };
}

async function attach(address, trust, me) {
  const link = await RnLink.attach({ address, trust, identity: { seed: me.seed, pcert: me.pcert } });
  links.add(link);
  link.on('close', () => links.delete(link));
  return link;
}

/** 0-RTT state of this process: the initiator's tickets, the responder's ticket keys and strike register. */
const ticketCache = new TicketCache();
const ticketIssuer = new TicketIssuer({ provider: nodeProvider });

function endpoint(trust, me, link, suites, zeroRtt = false) {
  return new Endpoint({ trust, identity: { cid: me.cid, signer: me.signer, pcert: me.pcert }, link, ...(suites ? { suites } : {}), ...(zeroRtt ? { ticketCache, tickets: ticketIssuer } : {}) });
}

/** Responder (gateway role): attach and accept; every channel of every session feeds the sink (or echoes). */
async function uzpListen(a) {
  const { trust, me } = uzpSetup(a);
  const link = await attach(a.rnAddress, trust, me);
  const ep = endpoint(trust, me, link, undefined, a.zeroRtt === true);
  ep.on('refused', (e) => process.stderr.write(`responder refused a session: ${e?.message}\n`));
  ep.on('early-refused', (why) => process.stderr.write(`responder did not take early data: ${why}\n`));
  ep.on('session', (session) => {
    session.on('channel', (ch) => {
      if (a.echo) ch.on('message', (m) => void ch.send(m).catch(() => {}));
      else ch.on('message', received);
    });
    session.on('close', () => {});
  });
  ep.accept();
  return { cid: Buffer.from(me.cid).toString('hex') };
}

/** Initiator (operator role): one stitched session with `suite`, kept as `key`. */
async function uzpConnect(a) {
  const { trust, me } = uzpSetup(a);
  let link = [...links].find((l) => l.address === a.rnAddress && l.attached);
  if (link === undefined) link = await attach(a.rnAddress, trust, me);
  const ep = endpoint(trust, me, link, [a.suite]);
  const session = await ep.connect(fromHex(a.target), fromHex(a.grant), { suites: [a.suite] });
  session.on('close', () => {});
  sessions.set(a.key, { kind: 'uzp', session, channel: session.openChannel() });
  return {};
}

// ---- TLS 1.3 over the relay ----

/**
 * One SecureContext per (PKI, side, cipher), made once and reused, as a real TLS client or server
 * would (and as the UZP side reuses its TrustStore): PEM parsing stays out of the measurements.
 * `side` is 'server' or 'client'; both trust only the bench CA.
 */
const contexts = new Map();
/** `group` (client side): the one key-exchange group offered, e.g. 'X25519'; default node's list (X25519MLKEM768 first on Node 24). */
function secureContext(pki, side, cipher, group) {
  const k = `${pki.ca}|${side}|${cipher ?? ''}|${group ?? ''}`;
  let ctx = contexts.get(k);
  if (ctx === undefined) {
    // sessionIdContext: OpenSSL resumes a session whose client certificate it verified only under a
    // session id context (tls.createServer sets one; a bare server TLSSocket does not).
    const opts = {
      key: pki[side].key,
      cert: pki[side].cert,
      ca: [pki.ca],
      minVersion: 'TLSv1.3',
      maxVersion: 'TLSv1.3',
      ...(side === 'server' ? { sessionIdContext: 'uzp-bench' } : {}),
      ...(group !== undefined ? { ecdhCurve: group } : {}),
    };
    ctx = createSecureContext(cipher ? { ...opts, ciphers: cipher } : opts);
    contexts.set(k, ctx);
  }
  return ctx;
}

function connectTcp(address) {
  const i = address.lastIndexOf(':');
  const s = tcpConnect({ host: address.slice(0, i), port: Number(address.slice(i + 1)), noDelay: true });
  return once(s, 'connect').then(() => s);
}

/** TLS server role on an outbound relay connection (the TLS analogue of an attached, accepting EP). */
async function tlsListen(a) {
  const raw = await connectTcp(a.relay);
  const s = new TLSSocket(raw, { isServer: true, requestCert: true, rejectUnauthorized: true, secureContext: secureContext(a.pki, 'server') });
  s.on('error', () => s.destroy());
  const reader = new FrameReader(a.echo ? (m) => s.write(frameMessage(m)) : received);
  s.on('data', (chunk) => reader.push(chunk));
  return {};
}

async function tlsClient(relay, pki, cipher, group, raw) {
  raw ??= await connectTcp(relay);
  const s = tlsConnect({ socket: raw, servername: TLS_SERVER_NAME, secureContext: secureContext(pki, 'client', cipher, group) });
  await once(s, 'secureConnect');
  if (!s.authorized) throw new Error(`TLS: server not authorized: ${s.authorizationError}`);
  if (cipher && s.getCipher().standardName !== cipher) throw new Error(`TLS: asked for ${cipher}, got ${s.getCipher().standardName}`);
  return s;
}

async function tlsConnectCmd(a) {
  const s = await tlsClient(a.relay, a.pki, a.cipher);
  s.on('error', () => s.destroy());
  sessions.set(a.key, { kind: 'tls', socket: s, cipher: s.getCipher().standardName });
  return { cipher: s.getCipher().standardName, protocol: s.getProtocol(), group: s.getEphemeralKeyInfo()?.name };
}

// ---- sender ----

function payload(size) {
  const p = new Uint8Array(size);
  randomFillSync(p);
  return p;
}

/** Sends `count` messages of `size` bytes on stream `key`, with backpressure; returns t0. */
async function sendCmd(a) {
  const st = sessions.get(a.key);
  if (st === undefined) throw new Error(`no stream ${a.key}`);
  if (st.kind === 'uzp') {
    const msg = payload(a.size);
    const { session, channel } = st;
    const t0 = nowNs();
    for (let i = 0; i < a.count; ) {
      if (channel.trySend(msg)) i++;
      else await session.waitWritable();
    }
    return { t0: String(t0) };
  }
  // TLS: u32be length || payload, one write() per message, 'drain' respected.
  const frame = frameMessage(payload(a.size));
  const s = st.socket;
  const t0 = nowNs();
  for (let i = 0; i < a.count; i++) {
    if (!s.write(frame)) await once(s, 'drain');
  }
  return { t0: String(t0) };
}

// ---- time to first byte ----

/**
 * One UZP first-byte measurement. Normally from before the TCP connect to the RN; with
 * `a.reuseLink` the initiator's RN link is already attached (made once, outside the timing),
 * as in a long-running operator EP, so only JOIN + handshake + echo are timed.
 */
let keptLink = null;
async function firstByteUzp(a) {
  const { trust, me } = (firstByteUzp.setup ??= uzpSetup(a));
  const msg = payload(a.size);
  if (a.reuseLink && (keptLink === null || !keptLink.attached)) keptLink = await attach(a.rnAddress, trust, me);
  const t0 = nowNs();
  let link = keptLink;
  let tAttached = t0;
  if (!a.reuseLink) {
    // The JOIN goes out right behind AUTH (RnLink.begin): the handshake starts a round trip earlier.
    const begun = RnLink.begin({ address: a.rnAddress, trust, identity: { seed: me.seed, pcert: me.pcert } });
    link = begun.link;
    links.add(link);
    link.on('close', () => links.delete(link));
    begun.attached.then(() => (tAttached = nowNs()), () => {});
  }
  const session = await endpoint(trust, me, link, [a.suite]).connect(fromHex(a.target), fromHex(a.grant), { suites: [a.suite] });
  const tSession = nowNs();
  const ch = session.openChannel();
  const echo = once(ch, 'message');
  ch.trySend(msg);
  const [m] = await echo;
  const t1 = nowNs();
  if (m.length !== msg.length) throw new Error(`echo of ${m.length} bytes, expected ${msg.length}`);
  session.close();
  await sleep(5);
  if (!a.reuseLink) link.close();
  // Phases for the log: attach (until OK; the JOIN left behind AUTH already), the rest of the handshake, first message round trip.
  return { ns: String(t1 - t0), phases: [tAttached - t0, tSession - tAttached, t1 - tSession].map(String) };
}

/**
 * 0-RTT (draft §9): the RN link is up (a long-running operator keeps it) and a ticket of an earlier
 * session under the same early-data Grant is held (one untimed full session makes the first), so
 * the timed part is JOIN + CH1 with the message as early data + the echo, which the responder sends
 * right behind its flight. Throws unless the responder took the early data.
 */
async function firstByteUzp0rtt(a) {
  const { trust, me } = (firstByteUzp.setup ??= uzpSetup(a));
  const msg = payload(a.size);
  if (keptLink === null || !keptLink.attached) keptLink = await attach(a.rnAddress, trust, me);
  const ep = endpoint(trust, me, keptLink, [a.suite], true);
  if (ticketCache.size === 0) (await ep.connect(fromHex(a.target), fromHex(a.grant), { suites: [a.suite] })).close();
  const t0 = nowNs();
  const session = await ep.connect(fromHex(a.target), fromHex(a.grant), { suites: [a.suite], early: [[msg]] });
  const tSession = nowNs();
  const ch = session.early.channels[0];
  const [m] = await once(ch, 'message');
  const t1 = nowNs();
  if (!session.early.accepted) throw new Error('the responder did not take the early data (see its stderr)');
  if (m.length !== msg.length) throw new Error(`echo of ${m.length} bytes, expected ${msg.length}`);
  session.close();
  await sleep(5);
  // Phases for the log: JOIN + CH1 with early data until the session is up, then the echo's wait.
  return { ns: String(t1 - t0), phases: [tSession - t0, t1 - tSession].map(String) };
}

/** Resolves once `n` bytes came back on `s` (the framed echo). */
function echoed(s, n) {
  let got = 0;
  return new Promise((resolve, reject) => {
    s.on('data', (c) => {
      got += c.length;
      if (got >= n) resolve();
    });
    s.on('error', reject);
  });
}

/** TLS sessions to resume, per relay: node:tls session tickets (RFC 8446 §4.6.1), one per connection. */
const tlsSessions = new Map();

/**
 * TLS 1.3 resumption through the relay: TCP connect + a PSK handshake with a ticket of the previous
 * connection (no certificates; Node has no early data) + the echo. The first call primes a ticket.
 */
async function firstByteTlsResumed(a) {
  const frame = frameMessage(payload(a.size));
  const key = `${a.relay}|${a.cipher}|${a.group ?? ''}`;
  // preconnect: the TCP connection to the relay is made before the clock starts, as the UZP side's
  // RN link is up before its 0-RTT connect (bench review: the TCP connect was 15-31% of this baseline).
  const pre = a.preconnect ? await connectTcp(a.relay) : undefined;
  const t0 = nowNs();
  const raw = pre ?? (await connectTcp(a.relay));
  const saved = tlsSessions.get(key);
  const s = tlsConnect({ socket: raw, servername: TLS_SERVER_NAME, secureContext: secureContext(a.pki, 'client', a.cipher, a.group), ...(saved ? { session: saved } : {}) });
  s.on('session', (t) => tlsSessions.set(key, t));
  const done = echoed(s, frame.length);
  await once(s, 'secureConnect');
  s.write(frame);
  await done;
  const t1 = nowNs();
  const resumed = s.isSessionReused();
  const group = s.getEphemeralKeyInfo()?.name;
  s.destroy();
  return { ns: String(t1 - t0), resumed, group };
}

/** A full mutual-auth handshake + the echo; `preconnect` and `group` as above. */
async function firstByteTls(a) {
  const frame = frameMessage(payload(a.size));
  const pre = a.preconnect ? await connectTcp(a.relay) : undefined;
  const t0 = nowNs();
  const s = await tlsClient(a.relay, a.pki, a.cipher, a.group, pre);
  const done = echoed(s, frame.length);
  s.write(frame);
  await done;
  const t1 = nowNs();
  const group = s.getEphemeralKeyInfo()?.name;
  s.destroy();
  return { ns: String(t1 - t0), group };
}

// ---- idle connections for the memory bench ----

/** Attaches every member as its own RnLink (and ACCEPTs, as an idle gateway would), paced. */
async function holdLinks(a) {
  const trust = peerTrust(a.rootPublic, a.rnSet);
  const interval = 1000 / a.ratePerS;
  let refusals = 0;
  for (const m of a.members) {
    const me = peerIdentity(m);
    for (;;) {
      const t = Date.now();
      try {
        const link = await attach(a.rnAddress, trust, me);
        // rn-scale: take every OFFER (an RN-level stitch, nothing is relayed on it).
        if (a.acceptOffers === true) link.on('offer', (o) => stitches.push(o.accept()));
        byCid.set(m.cid, link);
        link.accept();
        break;
      } catch (e) {
        // RN HELLO rate limit / pre-auth cap: wait and retry (never counted as attached).
        if (++refusals > 50 * a.members.length) throw e;
        await sleep(250);
        continue;
      } finally {
        await sleep(Math.max(0, interval - (Date.now() - t)));
      }
    }
  }
  return { attached: [...links].filter((l) => l.attached).length, refusals };
}

const held = [];
async function holdTls(a) {
  for (let i = 0; i < a.n; i++) {
    const raw = await connectTcp(a.address);
    const s = tlsConnect({ socket: raw, servername: TLS_SERVER_NAME, secureContext: secureContext(a.pki, 'client') });
    await once(s, 'secureConnect');
    if (!s.authorized) throw new Error(`TLS: server not authorized: ${s.authorizationError}`);
    s.on('error', () => {});
    held.push(s);
  }
  return { open: held.filter((s) => !s.destroyed).length };
}

/**
 * rn-scale: JOINs from links held here to targets held anywhere, `inFlight` at a time, each with its
 * own Grant; the CH1 is 64 opaque bytes (the RN never parses it). Resolves with how many the RN
 * stitched and how long the whole batch took.
 */
async function joinPairs(a) {
  const ch1 = new Uint8Array(64).fill(1);
  let next = 0;
  let stitched = 0;
  const errors = new Map();
  const t0 = nowNs();
  const worker = async () => {
    while (next < a.pairs.length) {
      const p = a.pairs[next++];
      try {
        stitches.push(await byCid.get(p.initiator).join(fromHex(p.target), fromHex(p.grant), ch1));
        stitched++;
      } catch (e) {
        const k = e?.code ?? String(e);
        errors.set(k, (errors.get(k) ?? 0) + 1);
      }
    }
  };
  await Promise.all(Array.from({ length: a.inFlight }, worker));
  return { stitched, ns: String(nowNs() - t0), errors: Object.fromEntries(errors) };
}

function closeAll() {
  for (const s of stitches.splice(0)) s.close?.();
  byCid.clear();
  for (const st of sessions.values()) {
    if (st.kind === 'uzp') st.session.close();
    else st.socket.destroy();
  }
  sessions.clear();
  for (const l of links) l.close();
  for (const s of held.splice(0)) s.destroy();
  return {};
}

// ---- IPC ----

const commands = {
  uzpListen,
  uzpConnect,
  tlsListen,
  tlsConnect: tlsConnectCmd,
  arm: (a) => {
    sink.messages = 0;
    sink.bytes = 0;
    sink.target = { messages: a.messages, bytes: a.bytes };
    return {};
  },
  send: sendCmd,
  firstByteUzp,
  firstByteTls,
  firstByteUzp0rtt,
  firstByteTlsResumed,
  holdLinks,
  holdTls,
  closeAll,
  joinPairs,
  /** Stitches of this process not ended (rn-scale). */
  stitchCount: () => stitches.filter((x) => !x.closed).length,
  /** RnLinks of this process still attached (rn-scale: what is held at the end, not only what attached). */
  linkCount: () => [...links].filter((l) => l.attached).length,
  /** Block-engine counters of each UZP stream (retransmits show RN drops under load). */
  stats: () => Object.fromEntries([...sessions].filter(([, st]) => st.kind === 'uzp').map(([k, st]) => [k, st.session.stats])),
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
// The parent is gone: nothing left to measure.
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => {
  closeAll();
  process.exit(0);
});
send({ event: 'ready', pid: process.pid });
