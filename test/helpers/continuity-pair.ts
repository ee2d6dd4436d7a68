// Two stitched sessions with continuity (draft §11-§12) over an in-memory stitch that names an RN,
// with no RN process: for testing re-stitch (ResumeRegistry) and PoR liveness at the session layer.
// One time source for everything: the TestDomain's clock (artefact windows, token checks) is also
// the sessions' wall clock, and their timers run on a FakeClock the test advances.

import type { Clock } from '../../src/lib/clock.js';
import type { Grant, Valid } from '../../src/uzp/artefacts/types.js';
import { TrustStore } from '../../src/uzp/artefacts/trust.js';
import { startInitiator } from '../../src/uzp/handshake/initiator.js';
import { respond } from '../../src/uzp/handshake/responder.js';
import { generateIdentity, type Identity } from '../../src/uzp/identity/identity.js';
import { Association } from '../../src/uzp/session/association.js';
import type { SessionContinuityOptions } from '../../src/uzp/session/failover.js';
import { earlySession } from '../../src/uzp/resumption/early-session.js';
import { Session, type StitchPort } from '../../src/uzp/session/session.js';
import { TestDomain, type Member } from './domain.js';
import { FakeClock } from './fake-clock.js';
import { stitchPair, type Hook } from './memory-stitch.js';

/** A FakeClock whose wall time is the domain's clock (wire timestamps: tokens, PoR). */
export class DomainClock extends FakeClock implements Clock {
  constructor(private readonly d: TestDomain) {
    super();
  }
  wall(): number {
    return this.d.clock();
  }
  /** Moves both the timers and the domain's wall clock. */
  tick(ms: number): void {
    this.d.advance(ms / 1000);
    this.advance(ms);
  }
}

export type MemStitch = StitchPort & { closed: boolean; rnCid: Uint8Array };

/** An in-memory stitch pair carried by the RN `rn` (both ends name it, as a real stitch does). */
export function stitchVia(rn: Identity, hook?: Hook): [MemStitch, MemStitch] {
  const [a, b] = stitchPair(hook);
  for (const s of [a, b]) Object.defineProperty(s, 'rnCid', { value: rn.cid });
  return [a as MemStitch, b as MemStitch];
}

export interface ContinuityPairOptions {
  readonly domain?: TestDomain;
  /** Default: PoR off (no timers of its own); the window is 30 s. */
  readonly continuity?: Partial<SessionContinuityOptions>;
  readonly hook?: Hook;
  /**
   * The gateway is the responder's early session of a 0-RTT handshake (early-session.ts): stitched
   * before Finished_I, which this helper never sends (the handshake runs out of band), with this
   * handshake timeout on the pair's clock.
   */
  readonly earlyGatewayTimeoutMs?: number;
}

export interface ContinuityPair {
  readonly d: TestDomain;
  readonly clock: DomainClock;
  readonly op: Member;
  readonly gw: Member;
  /** Three RNs listed in the RN Set Statement the gateway's trust store holds (the session starts on the first). */
  readonly rns: readonly [Identity, Identity, Identity];
  readonly rnSetBytes: Uint8Array;
  /** The gateway's trust store (RN Set installed), skew 300 s. */
  readonly trust: TrustStore;
  readonly grantBytes: Uint8Array;
  readonly grant: Valid<Grant>;
  readonly operator: Session;
  readonly gateway: Session;
  readonly stitches: readonly [MemStitch, MemStitch];
}

/** An operator (initiator) and gateway (responder) session, stitched through `rns[0]`. */
export function continuityPair(o: ContinuityPairOptions = {}): ContinuityPair {
  const d = o.domain ?? new TestDomain();
  const clock = new DomainClock(d);
  const op = d.member('operator');
  const gw = d.member('gateway');
  const rns = [generateIdentity(d.provider), generateIdentity(d.provider), generateIdentity(d.provider)] as const;
  const rnSetBytes = d.rnSet(rns.map((id, i) => ({ id, addresses: [`127.0.0.1:${7000 + i}`] })));
  const trust = new TrustStore({ provider: d.provider, rootPublicKey: d.root.publicKey, clock: d.clock, skewSeconds: 300 });
  trust.setRnSet(rnSetBytes);
  const grantBytes = d.grant(op.id.cid, gw.id.cid, { slot: 'rs485-1', purposes: [{ purpose: 'serial.read' }] });
  const init = startInitiator({ trust: d.trust(), identity: { cid: op.id.cid, signer: op.id.signer, pcert: op.pcert }, target: gw.id.cid, grant: grantBytes });
  const reply = respond({ trust, identity: { cid: gw.id.cid, signer: gw.id.signer, pcert: gw.pcert }, params: { maxBlockPlaintext: 32768, windowBlocks: 128 } }, { initiator: op.id.cid, grant: grantBytes, ch1: init.ch1 });
  const fin = init.next.receive(reply.flight);
  const rkeys = reply.next.receive(fin.finished);
  const continuity: SessionContinuityOptions = { windowMs: 30_000, por: false, skewMs: 300_000, ...o.continuity };
  const mk = (keys: typeof rkeys): Session => {
    const a = new Association();
    a.to('pending');
    a.to('authenticated');
    a.to('stitched');
    return new Session({ provider: d.provider, keys, association: a, clock, continuity });
  };
  const operator = mk(fin.keys);
  const stitches = stitchVia(rns[0], o.hook);
  let gateway: Session;
  if (o.earlyGatewayTimeoutMs === undefined) {
    gateway = mk(rkeys);
    gateway.attach(stitches[1]);
  } else {
    const a = new Association();
    a.to('pending');
    const onRefused = (): void => undefined;
    gateway = earlySession({ provider: d.provider, keys: rkeys, association: a, clock, continuity, stitch: stitches[1], timeoutMs: o.earlyGatewayTimeoutMs, verifyFinished: () => undefined, onRefused });
  }
  operator.attach(stitches[0]);
  return { d, clock, op, gw, rns, rnSetBytes, trust, grantBytes, grant: rkeys.grant, operator, gateway, stitches };
}
