// Appraisal of evidence (RFC 9334 §3.2 Verifier): evidence + reference manifest + policy -> one result
// per claim and per slot, each with the reason. Never throws for bad evidence: an undecodable blob is
// a failed "evidence" check, so `attest verify` and the operator code path report instead of crash.

import { equal, toHex } from '../uzp/bytes.js';
import type { CryptoProvider } from '../uzp/crypto/provider.js';
import { bundleRootOf, diffBundles } from './bundle.js';
import { decodeEvidence, EVIDENCE_LIFETIME_SECONDS, evidenceSignatureValid } from './evidence.js';
import type { NonceStore } from './nonces.js';
import { qualifyingData } from './tpm/qualifying.js';
import type { TpmClockStore } from './tpm/clock-store.js';
import { verifyQuote } from './tpm/verify.js';
import type { AppraisalResult, ClaimResult, DeviceIdentity, Evidence, ReferenceManifest, SlotResult } from './types.js';
import { isCodedError } from '../lib/errors.js';

/**
 * An AK the verifier trusts: its name (TPM2B_NAME bytes, `000b` || SHA-256 of its public area, as
 * `uzpgw attest` prints it at enrollment) and, when enrolled together, the one gateway it vouches for.
 * Unpinned, any trusted AK vouches for any gateway: a thief of one gateway's identity key with the
 * use of another gateway's TPM could then make evidence the verifier accepts for the first.
 */
export interface TrustedAk {
  readonly name: Uint8Array;
  readonly gateway?: Uint8Array;
}

export interface AppraisalPolicy {
  /**
   * Refuse evidence whose claims are vouched for by a software key only (key_origin "software").
   * Implied by trustedAks: a verifier that names the TPM keys it trusts must not accept evidence
   * without any (a silent downgrade to the software key).
   */
  readonly requireTpm?: boolean;
  /** AKs the verifier trusts, e.g. from enrollment; when given, a quote by any other fails. */
  readonly trustedAks?: readonly TrustedAk[];
  /** Accept dbgstat "enabled" (development gateways). Default false. */
  readonly allowDebug?: boolean;
  /** Oldest acceptable iat, seconds before now (default EVIDENCE_LIFETIME_SECONDS); also bounds clock skew ahead. */
  readonly maxAgeSeconds?: number;
  /** The gateway CID the evidence must come from. */
  readonly gateway?: Uint8Array;
  /** Device identities slots must report (beyond the manifest's own), e.g. pinned from a first appraisal. */
  readonly slotIdentities?: Readonly<Record<string, DeviceIdentity>>;
  /** Every slot must report a device identity (for buses whose devices can all tell). */
  readonly requireSlotIdentity?: boolean;
}

export interface AppraisalContext {
  readonly now?: number;
  /**
   * Freshness: the one nonce we sent, or the store of nonces we issued (consumed on success of the
   * signature); with both, the evidence must echo `sent` before the store is asked.
   */
  readonly nonce: { readonly expected: Uint8Array } | { readonly store: NonceStore; readonly sent?: Uint8Array };
  /** The exporter value of the session the evidence arrived on; absent only for offline appraisal. */
  readonly binding?: Uint8Array;
  /** The authenticated peer of that session. */
  readonly peer?: Uint8Array;
  readonly tpmClocks?: TpmClockStore;
}

const pass = (claim: string, reason: string): ClaimResult => ({ claim, status: 'pass', reason });
const fail = (claim: string, reason: string): ClaimResult => ({ claim, status: 'fail', reason });
const skip = (claim: string, reason: string): ClaimResult => ({ claim, status: 'skip', reason });
const short = (b: Uint8Array): string => `${toHex(b).slice(0, 16)}…`;

function same(claim: string, what: string, expected: string, found: string): ClaimResult {
  return expected === found ? pass(claim, `${what} ${JSON.stringify(found)}`) : fail(claim, `${what} ${JSON.stringify(found)}, expected ${JSON.stringify(expected)}`);
}

function sameBytes(claim: string, what: string, expected: Uint8Array, found: Uint8Array): ClaimResult {
  return equal(expected, found) ? pass(claim, `${what} ${short(found)}`) : fail(claim, `${what} ${short(found)} differs from the reference ${short(expected)}`);
}

function identityText(d: DeviceIdentity): string {
  return `${d.vendor} / ${d.product} / ${d.revision}`;
}

export function appraise(p: CryptoProvider, bytes: Uint8Array, reference: ReferenceManifest, policy: AppraisalPolicy, ctx: AppraisalContext): AppraisalResult {
  let ev: Evidence;
  try {
    ev = decodeEvidence(p, bytes);
  } catch (e) {
    return { ok: false, claims: [fail('evidence', `not valid evidence: ${isCodedError(e) ? `${e.message} [${e.code}]` : String(e)}`)], slots: [] };
  }
  const c = ev.claims;
  const out: ClaimResult[] = [];
  const now = ctx.now ?? Math.floor(Date.now() / 1000);

  // Who: signature by the key the evidence names, and that key is the gateway we expect.
  const sigOk = evidenceSignatureValid(p, ev);
  out.push(sigOk ? pass('signature', 'Ed25519 signature of the gateway identity verifies') : fail('signature', 'the evidence signature does not verify'));
  const expectedCid = ctx.peer ?? policy.gateway;
  if (expectedCid === undefined) out.push(skip('ueid', `gateway ${toHex(ev.issuer)} (no gateway CID pinned)`));
  else out.push(equal(expectedCid, ev.issuer) ? pass('ueid', `gateway ${toHex(ev.issuer)}`) : fail('ueid', `evidence from ${toHex(ev.issuer)}, expected ${toHex(expectedCid)}`));

  // When and for whom: freshness (nonce once, iat window) and the session binding.
  const maxAge = policy.maxAgeSeconds ?? EVIDENCE_LIFETIME_SECONDS;
  if (c.iat > now + maxAge) out.push(fail('iat', `issued ${c.iat - now} s in the future`));
  else if (now - c.iat > maxAge) out.push(fail('iat', `issued ${now - c.iat} s ago, more than ${maxAge} s`));
  else out.push(pass('iat', `issued ${Math.max(0, now - c.iat)} s ago`));
  if ('expected' in ctx.nonce) {
    out.push(equal(ctx.nonce.expected, c.eat_nonce) ? pass('eat_nonce', 'echoes our nonce') : fail('eat_nonce', `nonce ${short(c.eat_nonce)} is not the one we sent`));
  } else if (!sigOk) {
    out.push(skip('eat_nonce', 'not consumed: the signature does not verify'));
  } else if (ctx.nonce.sent !== undefined && !equal(ctx.nonce.sent, c.eat_nonce)) {
    // Not consumed: it may be a nonce this verifier sent on another connection, still outstanding there.
    out.push(fail('eat_nonce', `nonce ${short(c.eat_nonce)} is not the one sent on this session (not consumed)`));
  } else {
    const v = ctx.nonce.store.consume(c.eat_nonce);
    const why = { ok: 'echoes a nonce we issued (now used)', unknown: 'nonce was never issued by this verifier', replayed: 'nonce was already used: replayed evidence', expired: 'nonce expired before the evidence arrived' }[v];
    out.push(v === 'ok' ? pass('eat_nonce', why) : fail('eat_nonce', why));
  }
  if (ctx.binding !== undefined) {
    if (c.binding === undefined) out.push(fail('binding', 'evidence is not bound to a session'));
    else out.push(equal(ctx.binding, c.binding) ? pass('binding', 'bound to this session (exporter "uzp-gw attestation")') : fail('binding', 'bound to another session: the exporter value differs'));
  } else out.push(skip('binding', c.binding === undefined ? 'not session-bound (offline appraisal)' : 'session-bound, but no session to compare with (offline appraisal)'));

  // Key origin and the TPM quote.
  out.push(...tpmChecks(p, ev, policy, ctx));

  // What: hardware and software identity against the reference.
  out.push(same('board', 'board', reference.board, c.board));
  out.push(sameBytes('oemid', 'oemid', reference.oemid, c.oemid));
  out.push(same('hwmodel', 'hwmodel', reference.hwmodel, c.hwmodel));
  out.push(same('hwversion', 'hwversion', reference.hwversion, c.hwversion));
  out.push(c.dtmodel === undefined ? skip('dtmodel', 'no device tree model on this host') : skip('dtmodel', `device tree says ${JSON.stringify(c.dtmodel)} (informational)`));
  out.push(same('swname', 'swname', reference.swname, c.swname));
  out.push(same('swversion', 'swversion', reference.swversion, c.swversion));
  out.push(bundleCheck(p, reference, ev));
  out.push(sameBytes('measurements.lockfile', 'lockfile', reference.lockfile, c.measurements.lockfile));
  out.push(reference.node.includes(c.measurements.node) ? pass('measurements.node', `Node ${c.measurements.node}`) : fail('measurements.node', `Node ${c.measurements.node}, expected ${reference.node.join(' or ')}`));
  out.push(runtimeCheck(reference, ev));
  out.push(sameBytes('measurements.config', 'config digest', reference.config, c.measurements.config));
  out.push(sameBytes('measurements.board', 'board profile digest', reference.boardDigest, c.measurements.board));
  out.push(c.dbgstat === 'disabled' ? pass('dbgstat', 'debug disabled') : policy.allowDebug ? skip('dbgstat', 'debug enabled (allowed by policy)') : fail('dbgstat', 'debug/development mode is enabled'));
  out.push(skip('bootseed', `boot ${short(c.bootseed)}`));

  const slots = slotChecks(reference, ev, policy);
  const ok = out.every((r) => r.status !== 'fail') && slots.every((s) => s.status !== 'fail');
  return { ok, gateway: toHex(ev.issuer), claims: out, slots };
}

function bundleCheck(p: CryptoProvider, reference: ReferenceManifest, ev: Evidence): ClaimResult {
  const found = ev.claims.measurements.bundle;
  // The root must be the one its own groups imply, or the group list could be dressed up.
  if (!equal(bundleRootOf(p, found.groups), found.root)) return fail('measurements.bundle', 'bundle root does not match its own group list');
  if (equal(found.root, reference.bundle.root)) return pass('measurements.bundle', `${found.files} files, root ${short(found.root)}`);
  return fail('measurements.bundle', `bundle differs from the reference: ${diffBundles(reference.bundle, found).join('; ') || 'root differs'}`);
}

/**
 * The node binary against the one flash shipped. Only the digest decides: the path is where the
 * gateway found it (a tree flashed into a directory and run in place has another prefix), and is
 * named so that whoever reads a failure knows which file to look at.
 */
function runtimeCheck(reference: ReferenceManifest, ev: Evidence): ClaimResult {
  const found = ev.claims.measurements.runtime;
  const want = reference.runtime;
  if (want === undefined) return skip('measurements.runtime', `node binary ${found.path}, SHA-256 ${short(found.sha256)} (the manifest pins no runtime: flashed with --node)`);
  if (equal(want.sha256, found.sha256)) return pass('measurements.runtime', `node binary ${found.path}, SHA-256 ${short(found.sha256)}`);
  return fail(
    'measurements.runtime',
    `node binary ${found.path} has SHA-256 ${short(found.sha256)}, not that of the runtime flash installed at ${want.path} (${short(want.sha256)}): the gateway runs a replaced or different node`,
  );
}

function tpmChecks(p: CryptoProvider, ev: Evidence, policy: AppraisalPolicy, ctx: AppraisalContext): ClaimResult[] {
  const c = ev.claims;
  const trusted = policy.trustedAks;
  if (ev.tpm === undefined) {
    if (policy.requireTpm) return [fail('key_origin', 'software key only; policy requires a TPM-held attestation key')];
    if (trusted !== undefined) return [fail('key_origin', 'software key only; trusted AKs are configured, so the evidence must carry a TPM quote by one of them')];
    return [pass('key_origin', 'software (gateway identity key)')];
  }
  const out: ClaimResult[] = [];
  // AKs pinned to another gateway are not offered to the quote check: they vouch for that gateway only.
  const forThisGateway = trusted?.filter((a) => a.gateway === undefined || equal(a.gateway, ev.issuer)).map((a) => a.name);
  const q = verifyQuote(p, ev.tpm, { qualifying: qualifyingData(p, c.eat_nonce, c.binding, p.blake3(ev.claimsBytes)), ...(forThisGateway !== undefined ? { trustedAkNames: forThisGateway } : {}) });
  if (!q.ok) {
    const elsewhere = trusted?.find((a) => a.gateway !== undefined && equal(a.name, q.akName) && !equal(a.gateway, ev.issuer));
    if (elsewhere !== undefined) out.push(fail('key_origin', `TPM quote by AK ${short(q.akName)}, which is enrolled for gateway ${toHex(elsewhere.gateway!)}, not for ${toHex(ev.issuer)}`));
    else out.push(fail('key_origin', `TPM quote rejected: ${q.reason}`));
    return out;
  }
  if (policy.requireTpm && trusted === undefined) {
    // Without a pinned AK anyone could run a software TPM: a TPM requirement needs the AK's name.
    out.push(fail('key_origin', `TPM quote verifies, but no trusted AK is configured for ${short(q.akName)}; a TPM requirement needs one`));
  } else out.push(pass('key_origin', `TPM quote by AK ${short(q.akName)} covers nonce, binding and claims`));
  if (ctx.tpmClocks !== undefined && q.clock !== undefined) {
    const r = ctx.tpmClocks.check(q.akName, c.bootseed, q.clock);
    if (r.ok) ctx.tpmClocks.commit(q.akName, c.bootseed, q.clock);
    out.push(r.ok ? pass('tpm_clock', r.reason) : fail('tpm_clock', r.reason));
  } else out.push(skip('tpm_clock', 'no earlier quote to compare the reset counters with'));
  return out;
}

function slotChecks(reference: ReferenceManifest, ev: Evidence, policy: AppraisalPolicy): SlotResult[] {
  const found = ev.claims.submods;
  const ids = [...new Set([...Object.keys(reference.slots), ...Object.keys(found)])].sort();
  return ids.map((slot): SlotResult => {
    const want = reference.slots[slot];
    const got = found[slot];
    if (want === undefined) return { slot, status: 'fail', checks: [fail('slot', 'slot is not in the reference manifest')] };
    if (got === undefined) return { slot, status: 'fail', checks: [fail('slot', 'slot is missing from the evidence')] };
    const checks: ClaimResult[] = [same('device', 'device', want.device, got.device), same('driver', 'driver', want.driver, got.driver), same('port', 'port', want.port, got.port)];
    const pinned = policy.slotIdentities?.[slot] ?? want.identity;
    if (pinned !== undefined) {
      if (got.identity === undefined) checks.push(fail('identity', `the device did not identify itself; expected ${identityText(pinned)}`));
      else {
        const eq = pinned.vendor === got.identity.vendor && pinned.product === got.identity.product && pinned.revision === got.identity.revision;
        checks.push(eq ? pass('identity', identityText(got.identity)) : fail('identity', `device reports ${identityText(got.identity)}, expected ${identityText(pinned)}`));
      }
    } else if (got.identity === undefined) {
      checks.push(policy.requireSlotIdentity ? fail('identity', 'the device did not identify itself') : skip('identity', 'the device cannot tell (or did not answer)'));
    } else checks.push(skip('identity', `${identityText(got.identity)} (not pinned)`));
    return { slot, status: checks.some((x) => x.status === 'fail') ? 'fail' : 'pass', checks };
  });
}
