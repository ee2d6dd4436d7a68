// What an RN attachment needs from the EP identity (its signer, CID and the PCert's object_id),
// computed once and kept while the key arrays live.

import type { CryptoProvider, Signer } from '../crypto/provider.js';
import { decodeEnvelope } from '../artefacts/envelope.js';
import { cidOf } from '../identity/cid.js';
import type { RnLinkOptions } from './rn-link-types.js';

/**
 * What an attachment needs from the EP identity, made once per seed and per PCert (the byte arrays
 * themselves are the keys): every link of a LinkPool / LinkManager and every reconnect presents the
 * same ones, and importing the key and decoding the PCert took ~0.2 ms of each attachment's
 * critical path. Keyed by the arrays, not by the identity object: a gateway's `identity.pcert` is a
 * getter that returns its renewed PCert from the next attachment on (gateway/own-pcert.ts).
 */
const signers = new WeakMap<Uint8Array, { signer: Signer; cid: Uint8Array }>();
const pcertIds = new WeakMap<Uint8Array, Uint8Array>();
export function linkIdentity(p: CryptoProvider, id: RnLinkOptions['identity']): { signer: Signer; cid: Uint8Array; pcert: Uint8Array; pcertId: Uint8Array } {
  let key = signers.get(id.seed);
  if (key === undefined) {
    const signer = p.signer(id.seed);
    key = { signer, cid: cidOf(p, signer.publicKey) };
    signers.set(id.seed, key);
  }
  const pcert = id.pcert;
  let pcertId = pcertIds.get(pcert);
  if (pcertId === undefined) {
    // Structure only: the RN judges validity; we need the object_id that sig_ep covers.
    pcertId = decodeEnvelope(p, pcert).objectId;
    pcertIds.set(pcert, pcertId);
  }
  return { ...key, pcert, pcertId };
}
