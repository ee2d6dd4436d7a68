// The adoption rule for live artefacts, in one place (draft §11.1: "validate the RN Set Statement's
// signature set, scope, validity interval, and epoch or sequence state under the UZPIF common
// envelope rules and prefer the highest eligible non-conflicting statement"; §12 names
// epoch-versus-sequence precedence as a common-envelope rule). Whatever offers a candidate — a file
// at start or after a change, SIGHUP, an RN's CONTROL ARTEFACT — gets the same answer:
//   - the candidate must validate on its own: structure, root issuer, window now, revocation,
//     signature (an RN can withhold artefacts, never forge them);
//   - newer by precedence than the installed one: adopted. An installed one that has expired is
//     still the reference: only a newer one replaces it, never an older one that happens to be valid;
//   - the same object (same version, same object_id): unchanged;
//   - the same version with another object_id: refused as a conflict (neither supersedes the other);
//   - older: refused (ARTEFACT_STALE_SEQUENCE), before its signature costs anything.
// Precedence is (epoch, sequence) compared lexicographically — a higher epoch wins whatever the
// sequence (docs/PROFILE.md §Validation). PCerts, which Pantheon issues at epoch 0 sequence 0,
// are then ordered by their expiry: a renewal of the same key expires later.

import { isCodedError, type CodedError } from '../../lib/errors.js';
import { equal, toHex } from '../bytes.js';
import { ErrorCode, ValidationError } from '../errors.js';
import type { CommonFields, PCert, Revocation, RnSet, Valid } from './types.js';
import { compareVersion, type TrustContext } from './validate-common.js';
import { validatePCert } from './validate-pcert.js';
import { validateRevocation } from './validate-revocation.js';
import { validateRnSet } from './validate-rnset.js';

/** What became of an offered artefact. `previous`: the one it replaced (undefined when none was installed). */
export type Adoption<T> =
  | { readonly outcome: 'adopted'; readonly artefact: Valid<T>; readonly previous: Valid<T> | undefined }
  | { readonly outcome: 'unchanged'; readonly artefact: Valid<T> }
  | { readonly outcome: 'refused'; readonly error: CodedError };

/** How a candidate stands against the installed artefact of its kind. */
export type Precedence = 'newer' | 'same' | 'conflict' | 'older';

type Order = (a: CommonFields, b: CommonFields) => number;

/** (epoch, sequence), then the later expiry: how one PCert for a key supersedes another. */
export function comparePCert(a: CommonFields, b: CommonFields): number {
  return compareVersion(a, b) || Math.sign(a.expiresAt - b.expiresAt);
}

/** The precedence of `candidate` over `installed` under `order` (default: epoch, then sequence). */
export function precedence(candidate: CommonFields, installed: CommonFields | undefined, order: Order = compareVersion): Precedence {
  if (installed === undefined) return 'newer';
  const c = order(candidate, installed);
  if (c > 0) return 'newer';
  if (c < 0) return 'older';
  return equal(candidate.objectId, installed.objectId) ? 'same' : 'conflict';
}

function version(e: CommonFields, order: Order): string {
  return order === comparePCert ? `epoch ${e.epoch} sequence ${e.sequence} exp ${e.expiresAt}` : `epoch ${e.epoch} sequence ${e.sequence}`;
}

interface Rule<T extends CommonFields> {
  readonly installed: Valid<T> | undefined;
  readonly order: Order;
  readonly conflictCode: ErrorCode;
  /** Validates the candidate; `precheck` runs with the cheap checks, before the signature. */
  validate(precheck: (e: CommonFields) => void): Valid<T>;
  /** Checks against the installed artefact once the candidate is known authentic (e.g. the RN Set scope). */
  compatible?(candidate: Valid<T>, installed: Valid<T>): void;
}

function adopt<T extends CommonFields>(r: Rule<T>): Adoption<T> {
  const { installed, order } = r;
  const stale = (e: CommonFields, i: CommonFields): ValidationError =>
    new ValidationError(ErrorCode.ARTEFACT_STALE_SEQUENCE, `${e.type}: ${version(e, order)} is older than the installed ${version(i, order)}`);
  try {
    const candidate = r.validate((e) => {
      if (installed !== undefined && order(e, installed) < 0) throw stale(e, installed);
    });
    if (installed === undefined) return { outcome: 'adopted', artefact: candidate, previous: undefined };
    r.compatible?.(candidate, installed);
    switch (precedence(candidate, installed, order)) {
      case 'newer':
        return { outcome: 'adopted', artefact: candidate, previous: installed };
      case 'same':
        return { outcome: 'unchanged', artefact: installed };
      case 'older':
        throw stale(candidate, installed);
      case 'conflict':
        // Checked after the signature: only a genuinely signed conflicting artefact raises it, a
        // signal worth an operator's attention (an issuer state rolled back or copied).
        throw new ValidationError(
          r.conflictCode,
          `${candidate.type}: two different artefacts for ${version(candidate, order)} (installed ${toHex(installed.objectId).slice(0, 16)}…, offered ${toHex(candidate.objectId).slice(0, 16)}…)`,
        );
    }
  } catch (e) {
    if (!isCodedError(e)) throw e;
    return { outcome: 'refused', error: e };
  }
}

/** RN Set Statement: one scope per trust store; another scope is a conflict (RNSET_CONFLICT). */
export function adoptRnSet(ctx: TrustContext, installed: Valid<RnSet> | undefined, bytes: Uint8Array): Adoption<RnSet> {
  return adopt<RnSet>({
    installed,
    order: compareVersion,
    conflictCode: ErrorCode.RNSET_CONFLICT,
    validate: (precheck) => validateRnSet(ctx, bytes, precheck),
    compatible: (c, i) => {
      if (c.body.scope !== i.body.scope) {
        throw new ValidationError(ErrorCode.RNSET_CONFLICT, `rn-set: scope ${JSON.stringify(c.body.scope)} differs from installed ${JSON.stringify(i.body.scope)}`);
      }
    },
  });
}

/** Revocation list (cumulative: the newer list replaces the older one whole). */
export function adoptRevocation(ctx: TrustContext, installed: Valid<Revocation> | undefined, bytes: Uint8Array): Adoption<Revocation> {
  return adopt<Revocation>({ installed, order: compareVersion, conflictCode: ErrorCode.ARTEFACT_CONFLICT, validate: (precheck) => validateRevocation(ctx, bytes, precheck) });
}

/**
 * A renewed PCert for the key and role of `installed` (the endpoint's own): valid now and later by
 * comparePCert. Another key or role is refused (PCERT_KEY_MISMATCH, PCERT_ROLE).
 */
export function adoptPCert(ctx: TrustContext, installed: Valid<PCert>, bytes: Uint8Array): Adoption<PCert> {
  return adopt<PCert>({
    installed,
    order: comparePCert,
    conflictCode: ErrorCode.ARTEFACT_CONFLICT,
    validate: (precheck) => {
      const opts = { role: installed.body.role, ...(installed.subject !== undefined ? { cid: installed.subject } : {}) };
      // validatePCert has no precheck hook: precedence is checked after its signature (one verify).
      const v = validatePCert(ctx, bytes, opts);
      precheck(v);
      return v;
    },
  });
}

/** The artefact an adoption leaves installed, or the refusal thrown (for callers that must have one: start-up). */
export function adoptedOrThrow<T>(a: Adoption<T>): Valid<T> {
  if (a.outcome === 'refused') throw a.error;
  return a.artefact;
}
