// `pantheon grant`: issues a Grant from subject (initiator) to audience (responder) for purposes on
// one or more HIL slots (docs/PROFILE.md §Grant). Everything a Grant could get wrong is refused here,
// before signing: an unknown purpose (with the closest name), a subject that is not an operator or
// an audience that is not a gateway (when this directory enrolled them), a slot the gateway's config
// lacks (with --config). Issuing a Grant never disables another: nonces are counted per subject +
// audience (draft §9 orders them for early data only), taken from DIR/state.json unless --nonce.
// A publishing Grant (every purpose `telemetry.publish`) goes the other way round: subject a gateway,
// audience a collector (the outbound indexing draft's Publisher initiates to its Indexer, OI §11.1),
// and its slots are the ones the gateway may publish; `--slot '*'` (alone) means every slot. HIL
// Grants never take '*': a HIL must not generalise a slot's authority (draft §4.3).

import { checkReplaceable } from '../files/fsutil.js';
import { loadGatewayConfig } from '../config/index.js';
import { didYouMean } from '../config/suggest.js';
import { toHex } from '../uzp/bytes.js';
import type { CryptoProvider } from '../uzp/crypto/provider.js';
import type { GrantScope, Purpose, Role } from '../uzp/artefacts/types.js';
import { parseCid } from '../uzp/identity/cid.js';
import { openDomain, windowFrom } from './domain.js';
import { sign } from './issue.js';
import { formatPurpose, parsePurposeSpec } from './purpose-spec.js';
import { PUBLISH_PURPOSE } from '../hil/purposes.js';
import { updateState } from './state.js';
import { CommonCode, LocalError } from '../lib/errors.js';

interface GrantOptions {
  readonly dir: string;
  readonly subject: string;
  readonly audience: string;
  /** `[SLOT/]SPEC` each; the prefix may be left out when there is one slot. */
  readonly purposes: readonly string[];
  /** `SLOT[@DEVICE]` each. */
  readonly slots: readonly string[];
  /** The device of the only slot (same as SLOT@DEVICE). */
  readonly device?: string;
  /** The audience gateway's config: every slot (and device) must be in it. */
  readonly config?: string;
  readonly seconds: number;
  readonly nonce?: number;
  readonly earlyData: boolean;
  readonly noReplay: boolean;
  readonly out: string;
  readonly nowMs: number;
}

interface GrantResult {
  out: string;
  object_id: string;
  subject: string;
  audience: string;
  scopes: { slot: string; device?: string; purposes: string[] }[];
  nonce: number;
  early_data: boolean;
  no_replay: boolean;
  not_before: number;
  expires_at: number;
  warnings: string[];
}

const usage = (m: string): LocalError => new LocalError(CommonCode.USAGE, m);
/** The config's slot id pattern (config/board-schema.ts SLOT_ID), so a slot prefix is never a purpose name. */
const SLOT = /^[a-z0-9][a-z0-9_-]{0,63}$/;
/** `--slot '*'`: every slot of the gateway, for publishing Grants only. */
const ALL_SLOTS = '*';
const isSlot = (s: string): boolean => SLOT.test(s) || s === ALL_SLOTS;

/** Who may be subject and audience of each kind of Grant, and how a refusal names them. */
const PARTIES = {
  hil: { subject: 'operator', audience: 'gateway', what: "a Grant's", subjectIs: 'an operator (the initiator)', audienceIs: 'a gateway (the responder)' },
  publish: {
    subject: 'gateway',
    audience: 'collector',
    what: `a ${PUBLISH_PURPOSE} Grant's`,
    subjectIs: 'a gateway (the publisher, which initiates)',
    audienceIs: 'a collector (the responder)',
  },
} as const;
type GrantKind = keyof typeof PARTIES;

function cidFlag(s: string, flag: string): Uint8Array {
  try {
    return parseCid(s);
  } catch {
    throw usage(`--${flag}: expected a CID (64 lowercase hex characters), got ${JSON.stringify(s.slice(0, 20))}`);
  }
}

function checkRole(cid: Uint8Array, flag: 'subject' | 'audience', kind: GrantKind, members: Readonly<Record<string, Role>>, warnings: string[]): void {
  const p = PARTIES[kind];
  const want: Role = p[flag];
  const role = members[toHex(cid)];
  if (role === undefined) warnings.push(`--${flag} ${toHex(cid).slice(0, 16)}… was not enrolled through this domain directory: its role (${want} expected) is not checked`);
  else if (role !== want) {
    const other = kind === 'hil' ? ` (${PUBLISH_PURPOSE} Grants go from a gateway to a collector)` : ' (HIL purposes go from an operator to a gateway)';
    throw usage(`--${flag}: ${toHex(cid).slice(0, 16)}… is enrolled as ${role}; ${p.what} ${flag} must be ${flag === 'subject' ? p.subjectIs : p.audienceIs}${other}`);
  }
}

/** A Grant is for publishing (every purpose telemetry.publish) or for HIL slots (none is), never both. */
function kindOf(scopes: readonly { slot: string; purposes: readonly Purpose[] }[]): GrantKind {
  const all = scopes.flatMap((s) => s.purposes);
  const publish = all.filter((p) => p.purpose === PUBLISH_PURPOSE).length;
  if (publish !== 0 && publish !== all.length) {
    throw usage(`${PUBLISH_PURPOSE} (gateway -> collector) and HIL purposes (operator -> gateway) go in separate Grants: issue two`);
  }
  const kind: GrantKind = publish === 0 ? 'hil' : 'publish';
  if (scopes.some((s) => s.slot === ALL_SLOTS)) {
    if (kind === 'hil') throw usage(`--slot '*' (every slot) is for ${PUBLISH_PURPOSE} Grants only: a HIL Grant names each slot it reaches`);
    if (scopes.length > 1) throw usage("--slot '*' already means every slot: give it alone");
  }
  return kind;
}

/** SLOT[@DEVICE] flags into empty scopes, in the order given. */
function scopesOf(o: GrantOptions): { slot: string; device?: string; purposes: Purpose[] }[] {
  if (o.slots.length === 0) throw usage('at least one --slot is required: a Grant names the slots it reaches (a Grant without a slot grants nothing)');
  if (o.device !== undefined && o.slots.length !== 1) throw usage('--device goes with a single --slot; for several slots write --slot SLOT@DEVICE');
  const out: { slot: string; device?: string; purposes: Purpose[] }[] = [];
  for (const s of o.slots) {
    const at = s.indexOf('@');
    const slot = at < 0 ? s : s.slice(0, at);
    const device = at < 0 ? o.device : s.slice(at + 1);
    if (!isSlot(slot)) throw usage(`--slot ${JSON.stringify(s.slice(0, 64))}: a slot id is lowercase letters, digits, _ and - (e.g. rs485-1), optionally @DEVICE`);
    if (device !== undefined && (device.length === 0 || device.length > 256)) throw usage(`--slot ${s.slice(0, 64)}: the device id after @ is 1..256 characters`);
    if (slot === ALL_SLOTS && device !== undefined) throw usage("--slot '*' (every slot) names no device");
    if (out.some((x) => x.slot === slot)) throw usage(`--slot ${slot} given twice`);
    out.push({ slot, ...(device !== undefined ? { device } : {}), purposes: [] });
  }
  return out;
}

/** Puts each `[SLOT/]SPEC` into its slot's scope. */
function assignPurposes(scopes: { slot: string; purposes: Purpose[] }[], specs: readonly string[]): void {
  if (specs.length === 0) throw usage('at least one --purpose is required');
  for (const spec of specs) {
    const slash = spec.indexOf('/');
    const colon = spec.indexOf(':');
    const prefixed = slash > 0 && (colon < 0 || slash < colon) && isSlot(spec.slice(0, slash));
    const slot = prefixed ? spec.slice(0, slash) : undefined;
    const body = prefixed ? spec.slice(slash + 1) : spec;
    let target = scopes[0]!;
    if (slot !== undefined) {
      const hit = scopes.find((x) => x.slot === slot);
      if (hit === undefined) throw usage(`--purpose ${JSON.stringify(spec.slice(0, 80))}: slot ${slot} is not one of the --slot flags (${scopes.map((x) => x.slot).join(', ')})`);
      target = hit;
    } else if (scopes.length > 1) {
      throw usage(`--purpose ${JSON.stringify(spec.slice(0, 80))}: with several slots, prefix each purpose with its slot, e.g. ${scopes[0]!.slot}/${spec}`);
    }
    target.purposes.push(parsePurposeSpec(body));
  }
  const empty = scopes.filter((x) => x.purposes.length === 0).map((x) => x.slot);
  if (empty.length > 0) throw usage(`no --purpose for slot ${empty.join(', ')}: give each slot at least one (e.g. --purpose ${empty[0]}/serial.read)`);
}

/** With --config: every slot must exist there, and a named device must be the slot's device. */
function checkAgainstConfig(file: string, scopes: readonly GrantScope[]): void {
  const config = loadGatewayConfig(file, { checkFiles: false });
  const ids = config.slots.map((s) => s.id);
  for (const sc of scopes) {
    if (sc.slot === ALL_SLOTS) continue;
    const slot = config.slots.find((s) => s.id === sc.slot);
    if (slot === undefined) {
      const hint = didYouMean(sc.slot, ids);
      throw usage(`--slot ${sc.slot}: ${file} has no such slot; ${hint !== '' ? `${hint} ` : ''}its slots: ${ids.join(', ')}`);
    }
    if (sc.device !== undefined && sc.device !== slot.device.id) throw usage(`--slot ${sc.slot}@${sc.device}: in ${file} that slot holds device ${slot.device.id}`);
  }
}

export function grant(provider: CryptoProvider, o: GrantOptions): GrantResult {
  if (o.earlyData && o.noReplay) throw usage('--early-data and --no-replay exclude each other (draft §9: no-replay forbids 0-RTT)');
  const subject = cidFlag(o.subject, 'subject');
  const audience = cidFlag(o.audience, 'audience');
  const scopes = scopesOf(o);
  assignPurposes(scopes, o.purposes);
  const kind = kindOf(scopes);
  if (o.config !== undefined) checkAgainstConfig(o.config, scopes);
  checkReplaceable(o.out); // before any counter is taken: a refused --out consumes none
  const d = openDomain(provider, o.dir);
  const warnings: string[] = [];
  const w = windowFrom(o.nowMs, o.seconds);
  const { nonce, issued } = updateState(o.dir, (state) => {
    checkRole(subject, 'subject', kind, state.members, warnings);
    checkRole(audience, 'audience', kind, state.members, warnings);
    const key = `${toHex(subject)}:${toHex(audience)}`;
    const last = state.grantNonces[key];
    const nonce = o.nonce ?? (last === undefined ? 1 : last + 1);
    const issued = sign(provider, d, { type: 'grant', subject, audience, ...w }, { scopes, nonce, earlyData: o.earlyData, noReplay: o.noReplay });
    state.grantNonces[key] = Math.max(last ?? 0, nonce);
    return { nonce, issued };
  });
  issued.write(o.out);
  return {
    out: o.out,
    object_id: issued.objectId,
    subject: toHex(subject),
    audience: toHex(audience),
    scopes: scopes.map((s) => ({ slot: s.slot, ...(s.device !== undefined ? { device: s.device } : {}), purposes: s.purposes.map(formatPurpose) })),
    nonce,
    early_data: o.earlyData,
    no_replay: o.noReplay,
    not_before: w.notBefore,
    expires_at: w.expiresAt,
    warnings,
  };
}
