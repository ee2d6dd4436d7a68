// `connect --por-log FILE` (draft §12.1, §12.7): every PoR this operator accepted from the gateway
// is kept as a "por-evidence" artefact in the common envelope, signed by the operator's identity
// key (the verifier's record; the responder's proof value inside is what proved liveness). One JSON
// line per record: {"object_id": hex, "artefact": base64 envelope}. With PoR every second that is
// about 600 bytes a second per session: meant for audits, not left on.

import { appendFileSync } from 'node:fs';
import { porEvidenceCodec } from '../uzp/artefacts/por-evidence.js';
import { sealEnvelope, decodeEnvelope } from '../uzp/artefacts/envelope.js';
import { toHex } from '../uzp/bytes.js';
import type { CryptoProvider, Signer } from '../uzp/crypto/provider.js';
import type { AcceptedPor } from '../uzp/session/failover.js';
import type { Session } from '../uzp/session/session.js';

/** The por-evidence envelope for one accepted PoR: subject = responder, audience = challenger (§12.1). */
export function porEvidence(provider: CryptoProvider, signer: Signer, responder: Uint8Array, challenger: Uint8Array, r: AcceptedPor): Uint8Array {
  const c = r.challenge;
  return sealEnvelope(
    provider,
    [signer],
    { type: 'por-evidence', subject: responder, audience: challenger, issuedAt: Math.floor(c.issuedMs / 1000), notBefore: Math.floor(c.issuedMs / 1000), expiresAt: Math.ceil(c.expiresMs / 1000) },
    porEvidenceCodec.encode({ profile: c.profile, rnCid: c.rnCid, sessionTag: r.sessionTag, generation: c.generation, nonce: c.nonce, issuedMs: c.issuedMs, expiresMs: c.expiresMs, proof: r.proof }),
  );
}

/** Appends a record for every PoR `session` accepts; write errors are reported once, not thrown. */
export function logPors(file: string, provider: CryptoProvider, signer: Signer, session: Session, onError: (e: Error) => void): () => void {
  let failed = false;
  const onPor = (r: AcceptedPor): void => {
    if (failed) return;
    try {
      const bytes = porEvidence(provider, signer, session.peerCid, session.keys.localCid, r);
      const id = decodeEnvelope(provider, bytes).objectId;
      appendFileSync(file, JSON.stringify({ object_id: toHex(id), artefact: Buffer.from(bytes).toString('base64') }) + '\n', { mode: 0o600 });
    } catch (e) {
      failed = true;
      onError(e as Error);
    }
  };
  session.on('por', onPor);
  return () => session.off('por', onPor);
}
