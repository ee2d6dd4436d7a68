// `pantheon grant`: issues a Grant from subject (initiator) to audience (responder) for purposes
// within a slot/device scope. Nonces are monotonic per subject+audience (draft §9), taken from
// DIR/state.json unless --nonce is given; the state is saved before the artefact is written.

import { toHex } from '../uzp/bytes.js';
import type { CryptoProvider } from '../uzp/crypto/provider.js';
import type { GrantScope, Purpose } from '../uzp/artefacts/types.js';
import { parseCid } from '../uzp/identity/cid.js';
import { openDomain, windowFrom } from './domain.js';
import { sign } from './issue.js';
import { formatPurpose, parsePurposeSpec } from './purpose-spec.js';
import { loadState, saveState } from './state.js';
import { CommonCode, LocalError } from '../lib/errors.js';

interface GrantOptions {
  readonly dir: string;
  readonly subject: string;
  readonly audience: string;
  readonly purposes: readonly string[];
  readonly slot?: string;
  readonly device?: string;
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
  purposes: string[];
  scope: { slot?: string; device?: string };
  nonce: number;
  early_data: boolean;
  no_replay: boolean;
  not_before: number;
  expires_at: number;
}

function cidFlag(s: string, flag: string): Uint8Array {
  try {
    return parseCid(s);
  } catch {
    throw new LocalError(CommonCode.USAGE, `--${flag}: expected a CID (64 lowercase hex characters), got ${JSON.stringify(s.slice(0, 20))}`);
  }
}

export function grant(provider: CryptoProvider, o: GrantOptions): GrantResult {
  if (o.earlyData && o.noReplay) throw new LocalError(CommonCode.USAGE, '--early-data and --no-replay exclude each other (draft §9: no-replay forbids 0-RTT)');
  if (o.purposes.length === 0) throw new LocalError(CommonCode.USAGE, 'at least one --purpose is required');
  for (const [flag, v] of [['slot', o.slot], ['device', o.device]] as const) {
    if (v !== undefined && (v.length === 0 || v.length > 256)) throw new LocalError(CommonCode.USAGE, `--${flag}: 1..256 characters`);
  }
  const subject = cidFlag(o.subject, 'subject');
  const audience = cidFlag(o.audience, 'audience');
  const purposes: Purpose[] = o.purposes.map(parsePurposeSpec);
  const d = openDomain(provider, o.dir);
  const state = loadState(o.dir);
  const key = `${toHex(subject)}:${toHex(audience)}`;
  const last = state.grantNonces[key];
  const nonce = o.nonce ?? (last === undefined ? 1 : last + 1);
  const scope: GrantScope = { ...(o.slot !== undefined ? { slot: o.slot } : {}), ...(o.device !== undefined ? { device: o.device } : {}) };
  const w = windowFrom(o.nowMs, o.seconds);
  const issued = sign(provider, d, { type: 'grant', subject, audience, ...w }, { purposes, scope, nonce, earlyData: o.earlyData, noReplay: o.noReplay });
  state.grantNonces[key] = Math.max(last ?? 0, nonce);
  saveState(o.dir, state);
  issued.write(o.out);
  return {
    out: o.out,
    object_id: issued.objectId,
    subject: toHex(subject),
    audience: toHex(audience),
    purposes: purposes.map(formatPurpose),
    scope,
    nonce,
    early_data: o.earlyData,
    no_replay: o.noReplay,
    not_before: w.notBefore,
    expires_at: w.expiresAt,
  };
}
