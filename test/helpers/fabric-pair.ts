// Two or more in-process RNs on a real nats-server cluster (issue #16), each a real Switchboard and
// Fabric with its own identity, for tests of what passes between RNs: EP links are recorders, and
// a cross-RN stitch is made by JOINing from one RN's link to a CID accepting at another.

import { Fabric } from '../../src/rn/fabric/fabric.js';
import type { RnLog } from '../../src/rn/log.js';
import { RnStats } from '../../src/rn/stats.js';
import { Switchboard, type Peer } from '../../src/rn/switchboard.js';
import { toHex } from '../../src/uzp/bytes.js';
import { x25519PrivateFromEd25519Seed } from '../../src/uzp/crypto/ed-to-x25519.js';
import { nodeProvider } from '../../src/uzp/crypto/node.js';
import { cidOf } from '../../src/uzp/identity/cid.js';
import { ControlKind } from '../../src/uzp/link/constants.js';
import type { ControlMessage } from '../../src/uzp/link/control.js';

/** Bounds against a hang, not expectations. */
export const until = async (cond: () => boolean, what: string): Promise<void> => {
  for (let i = 0; i < 1_000 && !cond(); i++) await new Promise((r) => setTimeout(r, 20));
  if (!cond()) throw new Error(`timed out: ${what}`);
};

let ids = 0;
export type RecordingLink = Peer & { readonly control: ControlMessage[] };
/** An EP link as the switchboard sees it: records what the RN tells it. */
export function link(): RecordingLink {
  const control: ControlMessage[] = [];
  return { cid: nodeProvider.randomBytes(32), linkId: ++ids, control, congested: false, sendControl: (m) => void control.push(m), sendData: () => {}, holdFor: () => {}, onRelieved: () => {}, markStuck: () => {} };
}

export const unstitches = (l: { control: ControlMessage[] }) => l.control.flatMap((m) => (m.kind === ControlKind.UNSTITCH ? [{ stitchId: m.stitchId, code: m.code }] : []));

/** An RN's identity, log and stats; `sb` its switchboard, replaced by restart(). */
export interface PairRn {
  readonly seed: Uint8Array;
  readonly signer: ReturnType<typeof nodeProvider.signer>;
  readonly x25519Private: Uint8Array;
  readonly cid: Uint8Array;
  readonly stats: RnStats;
  readonly log: RnLog;
  readonly events: Record<string, unknown>[];
  sb: Switchboard;
}

export function rn(): PairRn {
  const seed = nodeProvider.randomBytes(32);
  const signer = nodeProvider.signer(seed);
  const stats = new RnStats();
  const events: Record<string, unknown>[] = [];
  const rec = (o: object): void => void events.push(o as Record<string, unknown>);
  const log: RnLog = { debug() {}, info: rec, warn: rec, error: rec };
  return { seed, signer, x25519Private: x25519PrivateFromEd25519Seed(nodeProvider, seed), cid: cidOf(nodeProvider, signer.publicKey), stats, log, events, sb: new Switchboard({ trust: {} as never, stats, log }) };
}

export const eventsOf = (r: PairRn, event: string) => r.events.filter((e) => e.event === event);

/**
 * Joins `r` (its switchboard as it is now) to the fabric of `domain` on NATS `url`; its peers are
 * `peers` (itself included). `onLost`: called when the connection closes for good (RnServer joins again).
 */
export async function join(r: PairRn, url: string, domain: string, peers: readonly PairRn[], onLost?: () => void): Promise<Fabric> {
  const keys = new Map(peers.map((p) => [toHex(p.cid), p.signer.publicKey]));
  const f = await Fabric.start({ servers: [url], rnCid: r.cid, signer: r.signer, x25519Private: r.x25519Private, provider: nodeProvider, domain, rnKey: (c) => keys.get(toHex(c)), log: r.log, stats: r.stats, ...(onLost !== undefined ? { onLost } : {}) }, r.sb, new AbortController().signal);
  if (f === undefined) throw new Error('not joined');
  return f;
}

/** A target link accepting at `r`. */
export function accepting(r: PairRn): RecordingLink {
  const l = link();
  r.sb.attach(l);
  r.sb.setAccepting(l);
  return l;
}

let joinId = 0;
/**
 * A stitch across from `operator` (attached at `ingress`) to `target` (accepting at another RN),
 * JOINed again until the target's presence has crossed NATS (JOIN_REFUSED until then). Resolves with
 * the two RNs' ids for it.
 */
export async function stitchAcross(ingress: PairRn, operator: RecordingLink, target: RecordingLink): Promise<{ ingress: number; egress: number }> {
  const across = ingress.sb as unknown as { joinAcross(p: Peer, m: object, refuse: () => void): void };
  const joined = () => operator.control.filter((m) => m.kind === ControlKind.JOINED);
  const offers = () => target.control.filter((m) => m.kind === ControlKind.OFFER_VIA);
  const had = joined().length;
  const offered = offers().length;
  while (joined().length === had) {
    let refused = false;
    across.joinAcross(operator, { kind: ControlKind.JOIN, joinId: ++joinId, target: target.cid, grant: new Uint8Array(8), ch1: new Uint8Array(8) }, () => (refused = true));
    await until(() => refused || joined().length > had, 'an answer to a JOIN across');
  }
  await until(() => offers().length === offered + 1, 'the OFFER_VIA');
  return { ingress: (joined().at(-1) as { stitchId: number }).stitchId, egress: (offers().at(-1) as { stitchId: number }).stitchId };
}
