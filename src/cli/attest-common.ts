// What `uzpgw attest verify` and `uzpgw connect … --manifest` share: the appraisal flags, the policy
// they build, and how a result is printed (one line per check, reasons included; or one JSON object).

import type { AppraisalPolicy } from '../attest/appraise.js';
import { readManifestFile, type SignedManifest } from '../attest/manifest.js';
import type { AppraisalResult, ClaimResult } from '../attest/types.js';
import { fromHex } from '../uzp/bytes.js';
import type { CryptoProvider } from '../uzp/crypto/provider.js';
import { parseCid } from '../uzp/identity/cid.js';
import { bool, list, str, usageError, type FlagSpecs, type Parsed } from './args.js';

export const APPRAISAL_FLAGS: FlagSpecs = {
  manifest: { type: 'string', describe: 'signed reference manifest written by `uzpgw flash`', placeholder: 'FILE' },
  'manifest-signer': { type: 'list', describe: 'CID of a trusted manifest signer (repeatable; required with --manifest)', placeholder: 'CID' },
  'require-tpm': { type: 'boolean', describe: 'refuse evidence not vouched for by a TPM quote from a trusted AK' },
  'trusted-ak': { type: 'list', describe: 'TPM AK name (hex, from the gateway enrollment) to trust (repeatable)', placeholder: 'HEX' },
  'allow-debug': { type: 'boolean', describe: 'accept evidence from a gateway in debug/development mode' },
  'max-age': { type: 'string', describe: 'oldest acceptable evidence in seconds (default 300)', placeholder: 'S' },
};

function hexArg(s: string, what: string): Uint8Array {
  if (!/^([0-9a-f]{2})+$/.test(s)) throw usageError(`${what}: expected lowercase hex, got ${JSON.stringify(s.slice(0, 20))}`);
  return fromHex(s);
}

export function parseHex(p: Parsed, name: string): Uint8Array | undefined {
  const s = str(p, name);
  return s === undefined ? undefined : hexArg(s, `--${name}`);
}

/** The manifest named by --manifest, verified against the --manifest-signer CIDs. */
export function manifestFromFlags(provider: CryptoProvider, p: Parsed): SignedManifest {
  const file = str(p, 'manifest');
  if (file === undefined) throw usageError('--manifest FILE is required (the reference manifest `uzpgw flash` wrote)');
  const signers = list(p, 'manifest-signer').map((s) => parseCid(s));
  if (signers.length === 0) throw usageError('--manifest-signer CID is required: which key do you trust to sign reference manifests? (`uzpgw flash` prints it)');
  return readManifestFile(provider, file, { trusted: signers, now: Math.floor(Date.now() / 1000) });
}

export function policyFromFlags(p: Parsed, gateway?: Uint8Array): AppraisalPolicy {
  const aks = list(p, 'trusted-ak').map((s) => hexArg(s, '--trusted-ak'));
  const maxAge = str(p, 'max-age');
  if (maxAge !== undefined && !/^[1-9][0-9]{0,6}$/.test(maxAge)) throw usageError('--max-age: whole seconds, 1..9999999');
  return {
    ...(bool(p, 'require-tpm') ? { requireTpm: true } : {}),
    ...(aks.length > 0 ? { trustedAks: aks } : {}),
    ...(bool(p, 'allow-debug') ? { allowDebug: true } : {}),
    ...(maxAge !== undefined ? { maxAgeSeconds: Number(maxAge) } : {}),
    ...(gateway !== undefined ? { gateway } : {}),
  };
}

function line(c: ClaimResult, indent: string): string {
  const mark = c.status === 'pass' ? 'ok  ' : c.status === 'fail' ? 'FAIL' : '--  ';
  return `${indent}${mark} ${c.claim.padEnd(22)} ${c.reason}`;
}

export function renderAppraisal(r: AppraisalResult, json: boolean): string {
  if (json) return JSON.stringify({ ok: r.ok, gateway: r.gateway, claims: r.claims, slots: r.slots }) + '\n';
  const out = [`appraisal: ${r.ok ? 'PASS' : 'FAIL'}${r.gateway ? ` (gateway ${r.gateway})` : ''}`];
  for (const c of r.claims) out.push(line(c, '  '));
  for (const s of r.slots) {
    out.push(`  slot ${s.slot}: ${s.status === 'fail' ? 'FAIL' : 'ok'}`);
    for (const c of s.checks) out.push(line(c, '    '));
  }
  return out.join('\n') + '\n';
}
