// What `uzpgw connect` checks before it touches the network (issue #10): the key is the one the PCert
// was issued for, the Grant is valid now, names this operator and this gateway, covers the slot and
// gives a purpose that opens the mode. Each failure says what is wrong with which file, and what to do,
// instead of an RN or gateway refusal code after a round trip.

import type { Mode } from '../hil/messages.js';
import { type CodedError, CommonCode, isCodedError, LocalError, naming } from '../lib/errors.js';
import { isoSeconds, roughDuration } from '../lib/time-text.js';
import { decodeEnvelope } from '../uzp/artefacts/envelope.js';
import type { TrustStore } from '../uzp/artefacts/trust.js';
import type { Grant, Valid } from '../uzp/artefacts/types.js';
import { toHex } from '../uzp/bytes.js';
import type { CryptoProvider } from '../uzp/crypto/provider.js';
import { ErrorCode } from '../uzp/errors.js';
import { grantDoesNotCover } from './grant-text.js';

interface PreflightInput {
  readonly provider: CryptoProvider;
  readonly trust: TrustStore;
  readonly cid: Uint8Array;
  readonly pcert: Uint8Array;
  readonly grant: Uint8Array;
  readonly gateway: Uint8Array;
  readonly files: { readonly key: string; readonly pcert: string; readonly grant: string };
  /** The slot and mode about to be opened (absent for `connect attest`). */
  readonly slot?: string;
  readonly mode?: Mode;
  readonly nowMs: number;
}

const short = (b: Uint8Array): string => `${toHex(b).slice(0, 16)}…`;
const refuse = (m: string): LocalError => new LocalError(CommonCode.CONFIG_INVALID, m);

/**
 * `e` again, its message led by the flag and file it came from, its own code the only one: the
 * message once carried the code and CONFIG_INVALID was added to it ("[CBOR_INVALID] [CONFIG_INVALID]").
 */
const named = (flag: string, file: string, e: CodedError): never =>
  naming(`${flag} ${file}`, () => {
    throw e;
  });

/**
 * The validated Grant; throws a LocalError (CONFIG_INVALID) naming the file and the fix, or for
 * what has no better telling (a file that is no artefact, a bad signature) the artefact's own
 * error led by the flag and file.
 */
export function preflight(i: PreflightInput): Valid<Grant> {
  try {
    i.trust.validatePCert(i.pcert, { role: 'operator', cid: i.cid });
  } catch (e) {
    if (!isCodedError(e)) throw e;
    if (e.code === ErrorCode.PCERT_KEY_MISMATCH || e.code === ErrorCode.PCERT_ROLE) {
      const env = decodeEnvelope(i.provider, i.pcert);
      throw refuse(
        e.code === ErrorCode.PCERT_ROLE
          ? `${i.files.pcert} is not an operator PCert (${e.message}); connect with the PCert pantheon enroll --role operator issued for ${i.files.key}`
          : `${i.files.key} is not the key ${i.files.pcert} was issued for (key CID ${short(i.cid)}, PCert for ${env.subject !== undefined ? short(env.subject) : '?'}); use the matching pair`,
      );
    }
    return named('--pcert', i.files.pcert, e);
  }
  let grant: Valid<Grant>;
  try {
    grant = i.trust.validateGrant(i.grant, { audience: i.gateway, subject: i.cid });
  } catch (e) {
    if (!isCodedError(e)) throw e;
    const f = i.files.grant;
    // What the Grant says (audience, subject, window) tells the refusals below. A file that is no
    // artefact at all does not decode: decoding it here threw its CBOR error again, naming no file.
    let env: ReturnType<typeof decodeEnvelope>;
    try {
      env = decodeEnvelope(i.provider, i.grant);
    } catch {
      return named('--grant', f, e);
    }
    switch (e.code) {
      case ErrorCode.GRANT_AUDIENCE:
        throw refuse(`${f} is a Grant for gateway ${env.audience !== undefined ? short(env.audience) : '?'}, not for ${short(i.gateway)} (--gateway); use that gateway's Grant`);
      case ErrorCode.GRANT_SUBJECT:
        throw refuse(`${f} was issued to ${env.subject !== undefined ? short(env.subject) : '?'}, not to ${i.files.key} (${short(i.cid)}); ask for a Grant naming your CID`);
      case ErrorCode.ARTEFACT_EXPIRED:
        throw refuse(`${f} expired at ${isoSeconds(env.expiresAt * 1000)} (${roughDuration(i.nowMs - env.expiresAt * 1000)} ago); ask for a new Grant`);
      case ErrorCode.ARTEFACT_NOT_YET_VALID:
        throw refuse(`${f} is valid from ${isoSeconds(env.notBefore * 1000)} (in ${roughDuration(env.notBefore * 1000 - i.nowMs)}); check this machine's clock`);
      case ErrorCode.REVOKED:
        throw refuse(`${f} (or its subject or issuer) is revoked by the revocation list given; ask for a new Grant`);
      default:
        return named('--grant', f, e);
    }
  }
  if (i.slot !== undefined) {
    const why = grantDoesNotCover(grant.body, i.slot, i.mode);
    if (why !== undefined) throw refuse(`${why} (${i.files.grant})`);
  }
  return grant;
}

/** "valid until 2026-12-05T04:00:00Z (7 hours left)" for the connected notice. */
export function validityText(grant: Valid<Grant>, nowMs: number): string {
  return `valid until ${isoSeconds(grant.expiresAt * 1000)} (${roughDuration(grant.expiresAt * 1000 - nowMs)} left)`;
}
