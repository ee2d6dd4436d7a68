// The reference Rendezvous Node: the only code in this repository that listens (ARCHITECTURE:
// EPs never do, draft §4). Accepts EP links, attaches them (AttachResponder), stitches JOINs
// (Switchboard) and relays opaque E2E bytes. Composition root of src/rn with start/stop.

import { createServer, type Server, type Socket } from 'node:net';
import type { PCert } from '../uzp/artefacts/types.js';
import { formatAddress } from '../uzp/link/address.js';
import type { ResponderTrust } from '../uzp/link/attach.js';
import { every, systemClock, type Clock } from '../lib/clock.js';
import {
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_KEEPALIVE_MS,
  DEFAULT_MAX_FRAME,
  DEFAULT_MAX_FRAME_PREAUTH,
  DEFAULT_PREAUTH_DEADLINE_MS,
  RN_CONTROL_QUEUE_MAX,
  RN_DATA_QUEUE_MAX_BYTES,
  RN_DATA_QUEUE_MAX_FRAMES,
  RN_HELLO_BURST,
  RN_HELLO_RATE_PER_S,
  RN_MAX_LINKS,
  RN_MAX_PREAUTH,
  RN_RATE_TABLE_MAX,
  RN_SWEEP_MS,
} from '../uzp/link/constants.js';
import { RnConnection, type ConnectionContext } from './connection.js';
import { silentLog, type RnLog } from './log.js';
import { SourceRateLimiter } from './rate-limit.js';
import { RnStats } from './stats.js';
import { Switchboard, type GrantTrust } from './switchboard.js';
import { CommonCode, LocalError } from '../lib/errors.js';

/** The part of TrustStore the RN uses. */
interface RnTrust extends ResponderTrust, GrantTrust {
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
  readonly log?: RnLog;
  readonly clock?: Clock;
  readonly maxLinks?: number;
  readonly maxPreauth?: number;
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
  private linkIds = 0;
  private boundAddress: string | null = null;

  constructor(private readonly opts: RendezvousNodeOptions) {
    this.clock = opts.clock ?? systemClock;
    this.log = opts.log ?? silentLog;
    this.switchboard = new Switchboard({ trust: opts.trust, stats: this.stats, log: this.log });
    this.ctx = {
      trust: opts.trust,
      signer: opts.trust.provider.signer(opts.seed),
      switchboard: this.switchboard,
      limiter: new SourceRateLimiter({ ratePerS: opts.helloRatePerS ?? RN_HELLO_RATE_PER_S, burst: opts.helloBurst ?? RN_HELLO_BURST, maxSources: RN_RATE_TABLE_MAX, clock: this.clock }),
      stats: this.stats,
      log: this.log,
      clock: this.clock,
      maxFrame: opts.maxFrame ?? DEFAULT_MAX_FRAME,
      maxFramePreauth: opts.maxFramePreauth ?? DEFAULT_MAX_FRAME_PREAUTH,
      keepaliveMs: opts.keepaliveMs ?? DEFAULT_KEEPALIVE_MS,
      maxLinks: opts.maxLinks ?? RN_MAX_LINKS,
      queue: {
        controlMax: opts.controlQueueMax ?? RN_CONTROL_QUEUE_MAX,
        dataMaxFrames: opts.dataQueueMaxFrames ?? RN_DATA_QUEUE_MAX_FRAMES,
        dataMaxBytes: opts.dataQueueMaxBytes ?? RN_DATA_QUEUE_MAX_BYTES,
      },
      requireAttestation: opts.requireAttestation ?? false,
      nowSeconds: () => opts.trust.nowSeconds(),
      skewSeconds: opts.trust.skewSeconds,
      nextLinkId: () => ++this.linkIds,
      closed: (c) => this.conns.delete(c),
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

  private onConnection(socket: Socket): void {
    // DERP: cap connections that have not authenticated, so a flood cannot exhaust memory.
    if (this.stats.preauth >= (this.opts.maxPreauth ?? RN_MAX_PREAUTH)) {
      this.stats.refused.preauth_cap++;
      socket.destroy();
      return;
    }
    this.stats.preauth++;
    this.conns.add(new RnConnection(socket, this.ctx));
  }

  /** Closes pre-auth connections past their deadline, idle links, and links whose PCert expired. */
  sweep(): void {
    const now = this.clock.now();
    const idle = this.opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    const deadline = this.opts.preauthDeadlineMs ?? DEFAULT_PREAUTH_DEADLINE_MS;
    const expiredBefore = this.opts.trust.nowSeconds() - this.opts.trust.skewSeconds;
    for (const c of [...this.conns]) {
      if (c.state === 'attached') {
        if (now - c.lastFrameAt >= idle) c.close('idle');
        else if (c.pcert!.expiresAt < expiredBefore) c.close('expired');
      } else if (now - c.openedAt >= deadline) {
        c.close('preauth_deadline');
      }
    }
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

  /** Stops listening, tells stitched EPs (UNSTITCH), closes every link. */
  close(): Promise<void> {
    this.stopSweep?.();
    this.stopSweep = null;
    this.switchboard.clear();
    for (const c of [...this.conns]) c.close('shutdown', true);
    return new Promise((resolve) => {
      if (!this.server.listening) return resolve();
      this.server.close(() => resolve());
    });
  }
}
