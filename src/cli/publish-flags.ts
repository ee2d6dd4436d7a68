// The flags of `uzpgw publish grant|revoke` checked against what a Discovery Grant can carry
// (uzp/artefacts/discovery-grant.ts: its limits and its policy rules), each refusal a usage error
// (exit 2) naming the flag. Left to the codec, they were refused while signing, as wire-format
// errors ("discovery-grant.b.purp[0]: … [DECODE_VALUE]", exit 1) that named no flag. The limits
// are the codec's own constants, so the two cannot drift apart; the codec still checks what is
// signed.

import type { GatewayConfig } from '../config/types.js';
import { MAX_PURPOSE_NAME, MAX_TEXT } from '../uzp/artefacts/constants.js';
import { ALL_SLOTS, MAX_DISCOVERY_PURPOSES, MAX_DISCOVERY_SCOPES, MAX_POLICY_PURPOSES } from '../uzp/artefacts/discovery-grant.js';
import { PURPOSE_PATTERN } from '../uzp/artefacts/grant.js';
import { usageError } from './flags.js';

/** The --slot list of a grant: '*' alone, or slots of the config (each once, at most the codec's limit). */
export function grantSlots(given: readonly string[], config: GatewayConfig, configFile: string): string[] {
  const slots = [...new Set(given)];
  if (slots.includes(ALL_SLOTS) && slots.length > 1) throw usageError("--slot '*' means every slot: give it alone");
  const unknown = slots.filter((s) => s !== ALL_SLOTS && !config.slots.some((c) => c.id === s));
  if (unknown.length > 0) throw usageError(`--slot ${unknown.join(', ')}: not a slot of ${configFile} (slots: ${config.slots.map((s) => s.id).join(', ')})`);
  if (slots.length > MAX_DISCOVERY_SCOPES) throw usageError(`--slot: at most ${MAX_DISCOVERY_SCOPES} slots in one grant ('*' covers every slot)`);
  return slots;
}

function purposeList(list: readonly string[], flag: string, max: number): string[] {
  const out = [...new Set(list)];
  for (const p of out) {
    if (p.length === 0 || p.length > MAX_PURPOSE_NAME || !PURPOSE_PATTERN.test(p)) {
      throw usageError(`--${flag} ${JSON.stringify(p.slice(0, 64))}: a purpose is a dotted lowercase name of 1..${MAX_PURPOSE_NAME} characters, e.g. telemetry.store`);
    }
  }
  if (out.length > max) throw usageError(`--${flag}: at most ${max} purposes, got ${out.length}`);
  return out;
}

interface TermFlags {
  readonly purpose: readonly string[];
  readonly allow: readonly string[];
  readonly deny: readonly string[];
  readonly attribution: string | undefined;
}

export interface GrantTerms {
  readonly purposes: readonly string[];
  readonly allow: readonly string[];
  readonly deny: readonly string[];
}

const DEFAULT_PURPOSES = ['telemetry.store'];
const DEFAULT_DENY = ['ai.train', 'ai.finetune'];

/**
 * Purposes and policy from the flags, with their defaults, consistent as OI §10 requires (a grant
 * that contradicts its own policy authorises nothing): no purpose denied, every purpose allowed,
 * nothing both allowed and denied. Also checks --attribution's length.
 */
export function grantTerms(f: TermFlags): GrantTerms {
  const given = (l: readonly string[]): readonly string[] | undefined => (l.length === 0 ? undefined : l);
  const purposes = purposeList(given(f.purpose) ?? DEFAULT_PURPOSES, 'purpose', MAX_DISCOVERY_PURPOSES);
  // The default denials never contradict the purposes asked for; denials given are kept as given.
  const deny = given(f.deny) !== undefined ? purposeList(f.deny, 'deny', MAX_POLICY_PURPOSES) : DEFAULT_DENY.filter((d) => !purposes.includes(d));
  const allow = given(f.allow) !== undefined ? purposeList(f.allow, 'allow', MAX_POLICY_PURPOSES) : purposes;
  const denied = purposes.find((p) => deny.includes(p));
  if (denied !== undefined) throw usageError(`--deny ${denied}: denies a --purpose of this grant; a grant whose policy denies its own purpose authorises nothing`);
  const both = allow.find((p) => deny.includes(p));
  if (both !== undefined) throw usageError(`--allow ${both} and --deny ${both}: the policy cannot both allow and deny a purpose`);
  const missing = purposes.find((p) => !allow.includes(p));
  if (missing !== undefined) throw usageError(`--allow: the policy must allow every --purpose, and ${missing} is not among ${allow.join(', ')} (add --allow ${missing}, or leave --allow out: it defaults to the purposes)`);
  if (f.attribution !== undefined && (f.attribution.length === 0 || f.attribution.length > MAX_TEXT)) throw usageError(`--attribution: 1..${MAX_TEXT} characters`);
  return { purposes, allow, deny };
}
