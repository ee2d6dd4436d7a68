// The continuity half of a session (draft §11.3-§11.6, §12): its exported continuity and PoR keys,
// the re-stitch generation, PoR liveness while stitched, and the continuity window while in
// failover: a session that is not re-stitched within `windowMs` ends (§11.6: "cease or cleanly
// terminate once that window expires"). Session control messages on channel 0 (PoR) land here.

import { wallMs, type Clock } from '../../lib/clock.js';
import { utf8 } from '../bytes.js';
import type { CryptoProvider } from '../crypto/provider.js';
import { EXPORTER_LABELS } from '../exporter.js';
import type { ContinuityKeys } from './continuity.js';
import { SESSION_TAG_LENGTH } from './continuity.js';
import { Liveness, type LivenessOptions } from './liveness.js';
import { answerChallenge, CTL_POR_CHALLENGE, CTL_POR_RESPONSE, decodePor, PorVerifier, type PorChallenge, type PorKeys } from './por.js';
import { ErrorCode, ProtocolError, UzpError } from '../errors.js';
import type { SessionKeys } from '../handshake/keys.js';

export const DEFAULT_CONTINUITY_WINDOW_MS = 30_000;

export interface SessionContinuityOptions {
  /** How long the session waits in failover for a re-stitch before it ends. */
  readonly windowMs: number;
  /** PoR liveness; false turns it off (the peer still gets answers). */
  readonly por: LivenessOptions | false;
  /** Clock skew allowed when judging a peer's PoR expiry. */
  readonly skewMs: number;
}

interface FailoverHost {
  readonly provider: CryptoProvider;
  readonly clock: Clock;
  readonly role: 'initiator' | 'responder';
  readonly localCid: Uint8Array;
  readonly peerCid: Uint8Array;
  exporter(label: string, context: Uint8Array, length: number): Uint8Array;
  /** Queue a session control message (channel 0). */
  sendControl(message: Uint8Array): void;
  /** PoR failed: the path is dead (a failover trigger). */
  dead(waitedMs: number): void;
  /** The continuity window ran out in failover. */
  expired(): void;
  /** A PoR of the peer was accepted. */
  accepted?(challenge: PorChallenge, proof: Uint8Array): void;
}

export class Failover {
  /** Re-stitch generation: 0 for the first stitch, then the generation of the accepted RESUME. */
  generation = 0;
  /** Highest generation this side put in a token (initiator): RESUME and STANDBY share the count. */
  private issued = 0;
  readonly continuity: ContinuityKeys;
  readonly liveness: Liveness | undefined;
  private readonly por: PorKeys;
  private rnCid: Uint8Array | undefined;
  /** The RN whose stitch was lost last: a re-stitch tries the others first. */
  lostRn: Uint8Array | undefined;
  private cancelWindow: (() => void) | undefined;

  constructor(
    private readonly h: FailoverHost,
    private readonly o: SessionContinuityOptions,
  ) {
    const tag = h.exporter(EXPORTER_LABELS.continuity, utf8.encode('session tag'), SESSION_TAG_LENGTH);
    const initiator = h.role === 'initiator';
    this.continuity = {
      tag,
      macKey: h.exporter(EXPORTER_LABELS.continuity, utf8.encode('resume mac'), 32),
      initiatorCid: initiator ? h.localCid : h.peerCid,
      responderCid: initiator ? h.peerCid : h.localCid,
    };
    this.por = { key: h.exporter(EXPORTER_LABELS.por, new Uint8Array(0), 32), tag, localCid: h.localCid, peerCid: h.peerCid };
    this.liveness = o.por === false ? undefined : new Liveness(h.clock, new PorVerifier(h.provider, this.por), o.por, { send: (m) => h.sendControl(m), dead: (ms) => h.dead(ms), accepted: (c, proof) => h.accepted?.(c, proof) });
  }

  /**
   * The generation for the next token this initiator makes (RESUME or STANDBY): one above any it
   * made or the session used, so the responder's "strictly higher" rule holds across both kinds.
   */
  nextGeneration(): number {
    this.issued = Math.max(this.issued, this.generation) + 1;
    return this.issued;
  }

  /** Stitched through the RN `rnCid` (first stitch or re-stitch): liveness from now, window over. */
  stitched(rnCid: Uint8Array | undefined, generation: number): void {
    this.cancelWindow?.();
    this.cancelWindow = undefined;
    this.generation = generation;
    this.rnCid = rnCid;
    if (rnCid !== undefined) this.liveness?.start(rnCid, generation);
  }

  /** The stitch is gone: no liveness until the next one; the continuity window starts. */
  lost(): void {
    this.liveness?.stop();
    if (this.rnCid !== undefined) this.lostRn = this.rnCid;
    this.rnCid = undefined;
    if (this.cancelWindow === undefined) this.cancelWindow = this.h.clock.setTimeout(() => this.h.expired(), this.o.windowMs, { unref: true });
  }

  stop(): void {
    this.liveness?.stop();
    this.cancelWindow?.();
    this.cancelWindow = undefined;
  }

  /** A channel-0 message from the peer. Malformed or unexpected ones are dropped. */
  onControl(message: Uint8Array): void {
    if (message.length === 0) return;
    if (message[0] === CTL_POR_RESPONSE) {
      this.liveness?.onResponse(message);
      return;
    }
    if (message[0] !== CTL_POR_CHALLENGE) return;
    let c;
    try {
      c = decodePor(message).challenge;
    } catch {
      return;
    }
    const answer = answerChallenge(this.h.provider, this.por, c, { generation: this.generation, rnCid: this.rnCid, nowMs: wallMs(this.h.clock), skewMs: this.o.skewMs });
    if (answer !== undefined) this.h.sendControl(answer);
  }
}

/** What failoverFor() needs of its session (Session fits). */
interface FailoverSession {
  readonly keys: SessionKeys;
  exporter(label: string, context: Uint8Array, length: number): Uint8Array;
  sendControl(message: Uint8Array): void;
  lose(reason: UzpError, pathSuspect?: boolean): void;
  end(reason: UzpError): void;
  emit(event: 'por', record: AcceptedPor): boolean;
}

/** A PoR the session accepted: what a por-evidence record retains (artefacts/por-evidence.ts). */
export interface AcceptedPor {
  readonly challenge: PorChallenge;
  readonly proof: Uint8Array;
  readonly sessionTag: Uint8Array;
}

/** The continuity half of `s`: PoR failure is a failover trigger, the window's end ends it. */
export function failoverFor(s: FailoverSession, provider: CryptoProvider, clock: Clock, c: SessionContinuityOptions): Failover {
  const f: Failover = new Failover(
    {
      provider,
      clock,
      role: s.keys.role,
      localCid: s.keys.localCid,
      peerCid: s.keys.peerCid,
      exporter: (label, context, length) => s.exporter(label, context, length),
      sendControl: (m) => s.sendControl(m),
      dead: (ms) => s.lose(new ProtocolError(ErrorCode.LINK_TIMEOUT, `no Proof-of-Reachability from the peer for ${ms} ms`), true),
      expired: () => s.end(new UzpError(ErrorCode.LINK_CLOSED, 'peer', `no re-stitch within the continuity window of ${c.windowMs} ms`)),
      accepted: (challenge, proof) => s.emit('por', { challenge, proof, sessionTag: f.continuity.tag }),
    },
    c,
  );
  return f;
}
