// PoR as the session's liveness (draft §12, §11.2): while stitched, one challenge is kept in flight;
// a new one goes out `intervalMs` after the last accepted proof, and a challenge left unanswered
// for `timeoutMs` is a failover trigger ("PoR failure"). After every (re-)stitch a fresh PoR is
// asked at once (§12.3): proofs of an earlier RN attachment or generation are refused by the
// verifier. Cost, with the defaults: one challenge (70 B) and one response (102 B) per second and
// direction, sealed into blocks with whatever data is flowing (docs/PROFILE.md gives the figures).

import { wallMs, type Clock } from '../../lib/clock.js';
import { decodePor, PorVerifier, type PorChallenge, type PorVerdict } from './por.js';

export const DEFAULT_POR_INTERVAL_MS = 1_000;
export const DEFAULT_POR_TIMEOUT_MS = 2_500;

export interface LivenessOptions {
  readonly intervalMs: number;
  readonly timeoutMs: number;
}

interface LivenessHooks {
  send(message: Uint8Array): void;
  /** No proof within timeoutMs: the path is dead. */
  dead(waitedMs: number): void;
  /** A PoR response was accepted (for --por-log records). */
  accepted?(challenge: PorChallenge, proof: Uint8Array): void;
}

export interface LivenessStats {
  challenges: number;
  accepted: number;
  refused: number;
  /** Round trip of the last accepted PoR, ms. */
  lastRttMs: number | undefined;
  lastAcceptedAt: number | undefined;
}

export class Liveness {
  readonly stats: LivenessStats = { challenges: 0, accepted: 0, refused: 0, lastRttMs: undefined, lastAcceptedAt: undefined };
  private cancel: (() => void) | undefined;
  private rnCid: Uint8Array | undefined;
  private generation = 0;
  /** Wall time the unanswered challenge went out; the timer armed with it decides (not a clock comparison: timers may fire a millisecond early). */
  private waitingSince: number | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly verifier: PorVerifier,
    private readonly o: LivenessOptions,
    private readonly hooks: LivenessHooks,
  ) {}

  /** Stitched (again) through the RN `rnCid`: forget old challenges, prove reachability now. */
  start(rnCid: Uint8Array, generation: number): void {
    this.stop();
    this.rnCid = rnCid;
    this.generation = generation;
    this.send();
  }

  stop(): void {
    this.cancel?.();
    this.cancel = undefined;
    this.waitingSince = undefined;
    this.verifier.reset();
  }

  /** A PoR response from the peer (channel 0); returns the verdict (refusals are only counted). */
  onResponse(message: Uint8Array): PorVerdict {
    const now = wallMs(this.clock);
    let verdict: PorVerdict;
    let r: ReturnType<typeof decodePor> | undefined;
    try {
      r = decodePor(message);
      verdict = this.verifier.verify(r, now);
    } catch {
      verdict = 'unknown-nonce';
    }
    if (verdict !== 'accepted' || r === undefined) {
      this.stats.refused++;
      return verdict;
    }
    const issued = r.challenge.issuedMs;
    this.hooks.accepted?.(r.challenge, r.proof!);
    this.stats.accepted++;
    this.stats.lastRttMs = now - issued;
    this.stats.lastAcceptedAt = now;
    if (this.cancel !== undefined && this.verifier.outstanding === 0) {
      this.waitingSince = undefined;
      this.arm(this.o.intervalMs);
    }
    return verdict;
  }

  private send(): void {
    if (this.rnCid === undefined) return;
    this.stats.challenges++;
    const now = wallMs(this.clock);
    this.waitingSince = now;
    this.hooks.send(this.verifier.challenge(this.rnCid, this.generation, now, this.o.timeoutMs));
    this.arm(this.o.timeoutMs);
  }

  private arm(ms: number): void {
    this.cancel?.();
    this.cancel = this.clock.setTimeout(() => this.tick(), ms, { unref: true });
  }

  /** Fired by the interval timer (no challenge open: send one) or the timeout timer (still open: dead). */
  private tick(): void {
    this.cancel = undefined;
    const since = this.waitingSince;
    if (since !== undefined) {
      this.waitingSince = undefined;
      this.verifier.reset();
      this.hooks.dead(wallMs(this.clock) - since);
      return;
    }
    this.send();
  }
}
