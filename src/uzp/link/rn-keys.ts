// What an EP process remembers of the RNs it attached to: the identity key that answered at each
// address, so that its next attachment there can be a 1-RTT one (attach-1rtt.ts) sealed to that key,
// and that next attachment's HELLO, made ahead while the process is idle (an X25519 and a signature
// off the connect path, as made-ahead.ts does for ephemeral keys). In memory only and bounded; a
// key is used only while the current RN Set Statement still lists it, and is forgotten when a 1-RTT
// attempt there fails (the RN changed its key, or does not speak the 1-RTT attachment).

import { equal } from '../bytes.js';
import type { Attach1Initiator } from './attach-1rtt.js';
import { ATTACH1_MADE_AHEAD_MAX_AGE_MS } from './constants.js';
import { x25519PublicFromEd25519 } from '../crypto/ed-to-x25519.js';

/** Addresses remembered at most; the oldest is forgotten first. */
const MAX_ADDRESSES = 256;

interface KnownRn {
  readonly publicKey: Uint8Array;
  /** Its X25519 form, computed once (x25519PublicFromEd25519 is BigInt arithmetic). */
  readonly x25519: Uint8Array;
}

const known = new Map<string, KnownRn>();

export function knownRnKey(address: string): KnownRn | undefined {
  return known.get(address);
}

/** After an attachment at `address` succeeded: the key that answered there. */
export function rememberRnKey(address: string, publicKey: Uint8Array): void {
  const had = known.get(address);
  if (had !== undefined && equal(had.publicKey, publicKey)) return;
  let x25519: Uint8Array;
  try {
    x25519 = x25519PublicFromEd25519(publicKey);
  } catch {
    return; // an eligible key always maps; nothing to remember otherwise
  }
  known.delete(address);
  known.set(address, { publicKey: publicKey.slice(), x25519 });
  if (known.size > MAX_ADDRESSES) known.delete(known.keys().next().value!);
}

export function forgetRnKey(address: string): void {
  known.delete(address);
  madeAhead.delete(address);
}

/** One HELLO made ahead per address, for one identity (its PCert object_id, hex). */
const madeAhead = new Map<string, { readonly who: string; readonly initiator: Attach1Initiator }>();

export function putMadeAhead(address: string, who: string, initiator: Attach1Initiator): void {
  madeAhead.delete(address);
  madeAhead.set(address, { who, initiator });
  if (madeAhead.size > MAX_ADDRESSES) madeAhead.delete(madeAhead.keys().next().value!);
}

/**
 * The HELLO made ahead for `who` at `address`, once: undefined when there is none, it is for another
 * identity, too old for the RN's window (time_ep older than ATTACH1_MADE_AHEAD_MAX_AGE_MS) or its RN
 * left the RN Set Statement meanwhile.
 */
export function takeMadeAhead(address: string, who: string, nowMs: number): Attach1Initiator | undefined {
  const m = madeAhead.get(address);
  if (m === undefined || m.who !== who) return undefined;
  madeAhead.delete(address);
  const fresh = nowMs - m.initiator.madeAt <= ATTACH1_MADE_AHEAD_MAX_AGE_MS && m.initiator.madeAt <= nowMs;
  return fresh && m.initiator.eligible ? m.initiator : undefined;
}
