// What to do about a refused artefact, said in the gateway's log line (artefact.refused): the code
// says what is wrong, this says who can fix it and how. Renewal is explained in docs/FLASH.md.

import { FileErrorCode } from '../files/errors.js';
import { withArticle } from '../uzp/artefacts/constants.js';
import { ErrorCode } from '../uzp/errors.js';
import { RENEWAL_DOC } from './expiry.js';

const ISSUE: Record<string, string> = {
  'rn-set': 'uzpgw pantheon rn-set',
  revocation: 'uzpgw pantheon revoke',
  pcert: 'uzpgw pantheon enroll',
};

/** One sentence for an artefact of `kind` refused with `code`, coming from a file or an RN. */
export function refusalAdvice(kind: string, source: { readonly file: string } | { readonly rn: string }, code: string): string {
  const fromRn = 'rn' in source;
  const issue = ISSUE[kind] ?? 'uzpgw pantheon';
  switch (code) {
    case ErrorCode.ARTEFACT_EXPIRED:
      return fromRn
        ? 'the RN holds an expired one: give the RN the current file (uzpgw rn --rn-set / --revocations, then SIGHUP)'
        : `this file has expired (or the clock is ahead: check NTP): issue a new one (\`${issue}\`) and put it in place: ${RENEWAL_DOC}`;
    case ErrorCode.ARTEFACT_NOT_YET_VALID:
      return 'not valid yet by this gateway\'s clock: check NTP / systemd-timesyncd (a Pi has no RTC)';
    case ErrorCode.ARTEFACT_STALE_SEQUENCE:
      return fromRn
        ? 'the RN holds an older one than this gateway uses: nothing to do here; renew the RN\'s file'
        : 'this file is older than the one in use (perhaps received from an RN since): put the newest one in place; an older one is never adopted';
    case ErrorCode.RNSET_CONFLICT:
    case ErrorCode.ARTEFACT_CONFLICT:
      return `a different artefact with the same epoch and sequence (or another scope) is in use: issue a new one with \`${issue}\` (its sequence goes up); was the domain's state.json copied or restored?`;
    case ErrorCode.SIG_INVALID:
    case ErrorCode.SIG_UNKNOWN_SIGNER:
    case ErrorCode.SIG_MISSING:
    case ErrorCode.SIG_ALG:
    case ErrorCode.ARTEFACT_ISSUER:
      return fromRn
        ? "not signed by this domain's root: the RN sent something it should not have (it cannot forge artefacts); report the RN"
        : "not signed by this domain's root: a file from another domain, or altered; get it again from the domain admin";
    case ErrorCode.PCERT_KEY_MISMATCH:
    case ErrorCode.PCERT_ROLE:
      return "issued for another key or role: enroll this gateway's own key again (its enroll-request.json) with --role gateway";
    case ErrorCode.REVOKED:
      return 'revoked by the revocation list in force: ask the domain admin';
    case ErrorCode.ARTEFACT_TYPE:
      return fromRn ? 'an artefact of a kind not taken from RNs: ignored' : `not ${withArticle(kind)} artefact: check which file the config names`;
    case FileErrorCode.FILE_NOT_FOUND:
    case FileErrorCode.FILE_IO:
      return 'cannot read the file (moved, or permissions): the artefact in force is kept';
    default:
      return fromRn ? 'malformed: ignored, the artefact in force is kept' : 'not a valid artefact file: the artefact in force is kept; issue it again';
  }
}
