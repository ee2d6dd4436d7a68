// The reference Rendezvous Node: the only code in this repository that listens (ARCHITECTURE:
// EPs never do, draft §4). Accepts EP links through admission (admission.ts: per-source pre-auth
// caps and budgets), attaches them (AttachResponder), stitches JOINs (Switchboard) and relays
// opaque E2E bytes; drains on request (DRAIN, draft §11.2). Composition root of src/rn.

import { createServer, type Server, type Socket } from 'node:net';
import { toHex } from '../uzp/bytes.js';
import type { PCert } from '../uzp/artefacts/types.js';
import { formatAddress } from '../uzp/link/address.js';
import type { ResponderTrust } from '../uzp/link/attach.js';
import { every, systemClock, wallMs, type Clock } from '../lib/clock.js';
import { x25519PrivateFromEd25519Seed } from '../uzp/crypto/ed-to-x25519.js';
import { AttachStrikes } from './attach-strikes.js';
import {
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_KEEPALIVE_MS,
  DEFAULT_MAX_FRAME,
  DEFAULT_MAX_FRAME_PREAUTH,
  DEFAULT_PREAUTH_DEADLINE_MS,
  ControlKind,
  RN_CONTROL_QUEUE_MAX,
  RN_DATA_QUEUE_MAX_BYTES,
  RN_DATA_QUEUE_MAX_FRAMES,
  RN_HELLO_BURST,
  RN_HELLO_RATE_PER_S,
  RN_KNOWN_CIDS_MAX,
  RN_KNOWN_SOURCE_FACTOR_MAX,
  RN_KNOWN_SOURCE_TTL_MS,
  RN_MAX_LINKS,
  RN_MAX_LINKS_PER_CID,
  RN_MAX_PREAUTH,
  RN_MAX_PREAUTH_PER_SOURCE,
  RN_PREAUTH_BURST,
  RN_PREAUTH_RATE_PER_S,
  RN_PREAUTH_RESERVE_DIVISOR,
  RN_RATE_TABLE_MAX,
  RN_SWEEP_MS,
} from '../uzp/link/constants.js';
import { Admission } from './admission.js';
import { RnConnection, type ConnectionContext } from './connection.js';
import { silentLog, type RnLog } from './log.js';
import { sourceKey } from './source.js';
import { RnStats } from './stats.js';
import type { RnArtefacts } from './artefacts.js';
import type { GrantTrust } from './join-grant.js';
import { Switchboard } from './switchboard.js';
import { Fabric } from './fabric/fabric.js';
import { fabricPeerKey, type FabricPeerTrust } from './fabric/peers.js';
import { cidOf } from '../uzp/identity/cid.js';
import { CommonCode, LocalError } from '../lib/errors.js';

/** The part of TrustStore the RN uses. */
interface RnTrust extends ResponderTrust, GrantTrust, FabricPeerTrust {
  isRevoked(id: Uint8Array): boolean;
  nowSeconds(): number;
  /** Clock skew validation allows past exp; the sweep uses the same allowance, or a PCert
   *  inside it would attach, be closed, and attach again. */
  readonly skewSeconds: number;
}

export interface RendezvousNodeOptions {
  readonly trust: RnTrust;
  /** The RN's Ed25519 identity seed; its public key must be in the domain's RN Set Statement. */
  readonly seed: Uint8Array;
  /** The 1-RTT attachment's replay window and strike register size (defaults in link/constants.ts). */
  readonly attach1?: { readonly pastMs?: number; readonly futureMs?: number; readonly max?: number };
  readonly log?: RnLog;
  readonly clock?: Clock;
  readonly maxLinks?: number;
  /** Links one identity may hold attached at once (default RN_MAX_LINKS_PER_CID). */
  readonly maxLinksPerCid?: number;
  readonly maxPreauth?: number;
  /** Concurrent pre-auth connections of one source (admission.ts; a known source: times its factor). */
  readonly maxPreauthPerSource?: number;
  /** Pre-auth slots only known sources may take (default maxPreauth / 4). */
  readonly preauthReserve?: number;
  /** Per-source budget of new pre-auth connections. */
  readonly preauthRatePerS?: number;
  readonly preauthBurst?: number;
  /** How long a source stays known after an endpoint was last seen attached from it. */
  readonly knownSourceTtlMs?: number;
  readonly maxFrame?: number;
  readonly maxFramePreauth?: number;
  readonly keepaliveMs?: number;
  readonly idleTimeoutMs?: number;
  readonly preauthDeadlineMs?: number;
  readonly helloRatePerS?: number;
  readonly helloBurst?: number;
  readonly controlQueueMax?: number;
  readonly dataQueueMaxFrames?: number;
  readonly dataQueueMaxBytes?: number;
  readonly sweepMs?: number;
  /**
   * Gateway links (PCert role "gateway") are offered stitches only after they presented attestation
   * evidence bound to their attachment (CONTROL ATTEST; src/rn/attestation.ts). Default false.
   */
  readonly requireAttestation?: boolean;
  /** The RN's artefacts, offered to every attached link (CONTROL ARTEFACT; src/rn/artefacts.ts). */
  readonly artefacts?: RnArtefacts;
}

export class RendezvousNode {
  readonly stats = new RnStats();
  private readonly server: Server;
  private readonly conns = new Set<RnConnection>();
  private readonly ctx: ConnectionContext;
  private readonly clock: Clock;
  private readonly log: RnLog;
  private readonly switchboard: Switchboard;
  private stopSweep: (() => void) | null = null;
  /** The fabric this RN joins (or is still connecting to), and the signal that stops that. */
  private fabric: Promise<Fabric | undefined> | undefined;
  private readonly leaving = new AbortController();
  private linkIds = 0;
  private boundAddress: string | null = null;
  private readonly admission: Admission;
  private drainingValue = false;
  private drainResult: Promise<{ detached: boolean; remaining: number }> | null = null;
  /** close() was called: a drain that ends now ends because links were closed, not because they left. */
  private closing = false;
  /** Called when a link detaches while draining. */
  private onDetach: (() => void) | null = null;

  constructor(private readonly opts: RendezvousNodeOptions) {
    this.clock = opts.clock ?? systemClock;
    this.log = opts.log ?? silentLog;
    const maxPreauth = opts.maxPreauth ?? RN_MAX_PREAUTH;
    this.admission = new Admission({
      maxPreauth,
      maxPreauthPerSource: opts.maxPreauthPerSource ?? RN_MAX_PREAUTH_PER_SOURCE,
      reserve: opts.preauthReserve ?? Math.floor(maxPreauth / RN_PREAUTH_RESERVE_DIVISOR),
      preauthRatePerS: opts.preauthRatePerS ?? RN_PREAUTH_RATE_PER_S,
      preauthBurst: opts.preauthBurst ?? RN_PREAUTH_BURST,
      helloRatePerS: opts.helloRatePerS ?? RN_HELLO_RATE_PER_S,
      helloBurst: opts.helloBurst ?? RN_HELLO_BURST,
      maxSources: RN_RATE_TABLE_MAX,
      knownTtlMs: opts.knownSourceTtlMs ?? RN_KNOWN_SOURCE_TTL_MS,
      knownMaxCids: RN_KNOWN_CIDS_MAX,
      knownFactorMax: RN_KNOWN_SOURCE_FACTOR_MAX,
      clock: this.clock,
      stats: this.stats,
    });
    this.switchboard = new Switchboard({ trust: opts.trust, stats: this.stats, log: this.log, ...(opts.artefacts !== undefined ? { artefacts: opts.artefacts } : {}) });
    this.ctx = {
      trust: opts.trust,
      signer: opts.trust.provider.signer(opts.seed),
      staticPrivate: x25519PrivateFromEd25519Seed(opts.trust.provider, opts.seed),
      strikes: new AttachStrikes({ nowMs: () => wallMs(this.clock), ...opts.attach1 }),
      switchboard: this.switchboard,
      admission: this.admission,
      stats: this.stats,
      log: this.log,
      clock: this.clock,
      maxFrame: opts.maxFrame ?? DEFAULT_MAX_FRAME,
      maxFramePreauth: opts.maxFramePreauth ?? DEFAULT_MAX_FRAME_PREAUTH,
      keepaliveMs: opts.keepaliveMs ?? DEFAULT_KEEPALIVE_MS,
      maxLinks: opts.maxLinks ?? RN_MAX_LINKS,
      maxLinksPerCid: opts.maxLinksPerCid ?? RN_MAX_LINKS_PER_CID,
      queue: {
        controlMax: opts.controlQueueMax ?? RN_CONTROL_QUEUE_MAX,
        dataMaxFrames: opts.dataQueueMaxFrames ?? RN_DATA_QUEUE_MAX_FRAMES,
        dataMaxBytes: opts.dataQueueMaxBytes ?? RN_DATA_QUEUE_MAX_BYTES,
      },
      requireAttestation: opts.requireAttestation ?? false,
      nowSeconds: () => opts.trust.nowSeconds(),
      skewSeconds: opts.trust.skewSeconds,
      nextLinkId: () => ++this.linkIds,
      closed: (c) => {
        this.conns.delete(c);
        this.onDetach?.();
      },
      draining: () => this.drainingValue,
    };
    this.server = createServer({ noDelay: true }, (s) => this.onConnection(s));
  }

  /** "host:port" actually bound (the real port when 0 was asked for). */
  get address(): string {
    if (this.boundAddress === null) throw new Error('RN: not listening');
    return this.boundAddress;
  }

  /** The current connections (tests inspect queues through this). */
  get connections(): ReadonlySet<RnConnection> {
    return this.conns;
  }

  listen(host: string, port: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const onError = (e: NodeJS.ErrnoException): void =>
        reject(new LocalError(CommonCode.CONFIG_INVALID, `cannot listen on ${formatAddress({ host, port })}: ${e.code ?? e.message}`, { cause: e }));
      this.server.once('error', onError);
      this.server.listen({ host, port }, () => {
        this.server.off('error', onError);
        this.server.on('error', (e) => this.log.error({ event: 'server_error', error: e.message }, 'server error'));
        const a = this.server.address();
        this.boundAddress = typeof a === 'object' && a !== null ? formatAddress({ host: a.address, port: a.port }) : String(a);
        this.stopSweep = every(this.clock, this.opts.sweepMs ?? RN_SWEEP_MS, () => this.sweep());
        this.log.info({ event: 'listening', address: this.boundAddress }, 'RN listening');
        resolve(this.boundAddress);
      });
    });
  }

  /** True once drain() began: no new connections, no new stitches. */
  get draining(): boolean {
    return this.drainingValue;
  }

  private onConnection(socket: Socket): void {
    if (this.drainingValue) return void socket.destroy();
    // DERP capped unauthenticated connections after floods; admission.ts also caps and budgets them
    // per source, so one source cannot fill the table (issue #11). Cut at accept: not a byte sent.
    const key = sourceKey(socket.remoteAddress);
    const r = this.admission.admit(key, () => new RnConnection(socket, this.ctx, key));
    if (typeof r === 'string') {
      this.stats.refused[r]++;
      this.log.debug({ event: 'preauth_refused', source: socket.remoteAddress, reason: r }, 'connection cut at accept');
      socket.destroy();
      return;
    }
    this.conns.add(r);
  }

  /** Closes pre-auth connections past their deadline, idle links, and links whose PCert expired. */
  sweep(): void {
    const now = this.clock.now();
    const idle = this.opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    const deadline = this.opts.preauthDeadlineMs ?? DEFAULT_PREAUTH_DEADLINE_MS;
    const expiredBefore = this.opts.trust.nowSeconds() - this.opts.trust.skewSeconds;
    for (const c of [...this.conns]) {
      if (c.state === 'attached') {
        // Keeps the source known while the link is up (known-sources.ts counts from the last sighting).
        this.admission.attached(c.sourceKey, toHex(c.cid));
        if (c.idle(now, idle)) c.close('idle');
        else if (c.pcert!.expiresAt < expiredBefore) c.close('expired');
      } else if (now - c.openedAt >= deadline) {
        c.close('preauth_deadline');
      }
    }
    this.stats.knownSources = this.admission.knownSources;
  }

  /**
   * Re-checks every attached link against the trust store (call after a revocation reload):
   * a link whose CID or PCert is now revoked is closed, and its stitches end. Returns the count.
   */
  revalidate(): number {
    let n = 0;
    for (const c of [...this.conns]) {
      const pcert: PCert | null = c.pcert;
      if (c.state !== 'attached' || pcert === null) continue;
      if (this.opts.trust.isRevoked(c.cid) || this.opts.trust.isRevoked(pcert.objectId)) {
        this.log.info({ event: 'revoked', link: c.linkId }, 'closing a link whose identity or PCert is revoked');
        c.close('revoked');
        n++;
      }
    }
    return n;
  }

  /**
   * Maintenance (draft §11.2 "authenticated ... maintenance signalling"; `uzpgw rn` on SIGTERM): stops
   * listening, closes pre-auth connections, sends DRAIN (deadline_ms = `ms`) sealed on every attached
   * link and refuses new JOINs (JOIN_REFUSED 3); existing stitches keep relaying. Resolves once every
   * link has detached (`detached` true) or `ms` has passed, after closing whatever is left (close()).
   */
  drain(ms: number): Promise<{ detached: boolean; remaining: number }> {
    this.drainResult ??= this.runDrain(ms);
    return this.drainResult;
  }

  private async runDrain(ms: number): Promise<{ detached: boolean; remaining: number }> {
    this.drainingValue = true;
    // No new JOIN is routed here through the fabric either; stitches across it keep relaying.
    void this.fabric?.then((f) => f?.withdraw());
    if (this.server.listening) this.server.close();
    for (const c of [...this.conns]) {
      if (c.state === 'attached') c.sendControl({ kind: ControlKind.DRAIN, deadlineMs: ms });
      else c.close('shutdown');
    }
    this.log.info({ event: 'draining', links: this.stats.links, deadline_ms: ms }, 'RN draining: DRAIN sent to every attached endpoint');
    const detached = await new Promise<boolean>((resolve) => {
      if (this.stats.links === 0) return resolve(true);
      const done = (all: boolean): void => {
        cancel();
        this.onDetach = null;
        resolve(all);
      };
      const cancel = this.clock.setTimeout(() => done(false), ms);
      this.onDetach = () => {
        if (this.stats.links === 0) done(!this.closing);
      };
    });
    const remaining = this.stats.links;
    this.stats.closed.drained += remaining;
    await this.close();
    return { detached, remaining };
  }

  /**
   * Joins the rendezvous fabric of the trust domain on a NATS cluster (issue #16; fabric/fabric.ts):
   * JOINs for targets held by other RNs are routed there, theirs for ours come here. The peers are
   * the RNs eligible under this RN's trust store (fabric/peers.ts).
   */
  async joinFabric(o: { readonly servers: readonly string[]; readonly domain: string; readonly name?: string; readonly user?: string; readonly pass?: string }): Promise<void> {
    const trust = this.opts.trust;
    const provider = trust.provider;
    const signer = this.ctx.signer;
    // Peers are the RNs eligible under the trust store's RN Set Statement and revocations as they
    // are at each message (reloaded on SIGHUP or change by the caller).
    const rnKey = (cid: Uint8Array): Uint8Array | undefined => fabricPeerKey(trust, cid);
    const begin = (): Promise<Fabric | undefined> =>
      Fabric.start({ ...o, rnKey, rnCid: cidOf(provider, signer.publicKey), signer, x25519Private: this.ctx.staticPrivate, provider, log: this.log, stats: this.stats, onLost: rejoin }, this.switchboard, this.leaving.signal).then((f) => {
        if (this.drainingValue) f?.withdraw(); // lost and joined again during a drain: no presence
        return f;
      });
    // The client closed its connection for good (fabric.ts watch()): join again, as at start.
    const rejoin = (): void => {
      if (this.closing) return;
      this.fabric = begin().catch((e: unknown) => {
        this.log.error({ event: 'fabric_rejoin_failed', reason: (e as Error)?.message ?? String(e) }, 'could not join the fabric again');
        return undefined;
      });
    };
    const started = begin();
    // Kept as a promise that cannot reject: drain() and close() chain on it, and a fabric that failed
    // to start must not fail the shutdown (the caller hears the failure from this call).
    this.fabric = started.catch(() => undefined);
    await started;
  }

  /** Stops listening, tells stitched EPs (UNSTITCH), closes every link, leaves the fabric. */
  close(): Promise<void> {
    this.closing = true;
    this.leaving.abort();
    const leaving = this.fabric?.then((f) => f?.close());
    this.fabric = undefined;
    this.stopSweep?.();
    this.stopSweep = null;
    this.switchboard.clear();
    for (const c of [...this.conns]) c.close('shutdown', true);
    const closed = new Promise<void>((resolve) => {
      if (!this.server.listening) return resolve();
      this.server.close(() => resolve());
    });
    return Promise.all([closed, leaving]).then(() => undefined);
  }
}
