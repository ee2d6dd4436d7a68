// What `uzpgw attest verify` and `uzpgw connect … --manifest` share: the appraisal flags, the policy
// they build, and how a result is printed (one line per check, reasons included; or one JSON object).

import { naming } from '../lib/errors.js';
import { jsonLine, printable } from '../lib/terminal-text.js';
import type { AppraisalPolicy, TrustedAk } from '../attest/appraise.js';
import { readManifestFile, type SignedManifest } from '../attest/manifest.js';
import { MAX_EVIDENCE_AGE_SECONDS } from '../attest/seen-nonces.js';
import type { AppraisalResult, ClaimResult, Evidence } from '../attest/types.js';
import { fromHex, toHex } from '../uzp/bytes.js';
import type { CryptoProvider } from '../uzp/crypto/provider.js';
import { cidFlag, usageError, type FlagValues } from './flags.js';

export const APPRAISAL_FLAGS = {
  manifest: { type: 'string', placeholder: 'FILE', describe: 'signed reference manifest written by `uzpgw flash`' },
  'manifest-signer': { type: 'list', placeholder: 'CID', describe: 'CID of a trusted manifest signer (needed with --manifest)' },
  'require-tpm': { type: 'boolean', describe: 'refuse evidence not vouched for by a TPM quote from a trusted AK (implied by --trusted-ak)' },
  'trusted-ak': {
    type: 'list',
    placeholder: '[CID:]NAME',
    describe: 'TPM AK to trust: its name as `uzpgw attest` prints it at enrollment (68 hex digits), after CID: for that gateway only; implies --require-tpm',
  },
  'allow-debug': { type: 'boolean', describe: 'accept evidence from a gateway in debug/development mode' },
  // Its max bounds how long the --seen record keeps a nonce (attest/seen-nonces.ts).
  'max-age': { type: 'int', placeholder: 'S', min: 1, max: MAX_EVIDENCE_AGE_SECONDS, describe: 'oldest acceptable evidence in seconds (default 300)' },
} as const;
export type AppraisalFlags = FlagValues<typeof APPRAISAL_FLAGS>;

function hexArg(s: string, what: string): Uint8Array {
  if (!/^([0-9a-f]{2})+$/.test(s)) throw usageError(`${what}: expected lowercase hex, got ${JSON.stringify(s.slice(0, 20))}`);
  return fromHex(s);
}

/** An optional hex flag's bytes; `name` is the flag, for the message. */
export function parseHex(value: string | undefined, name: string): Uint8Array | undefined {
  return value === undefined ? undefined : hexArg(value, `--${name}`);
}

/** The manifest named by --manifest, verified against the --manifest-signer CIDs. */
export function manifestFromFlags(provider: CryptoProvider, f: AppraisalFlags): SignedManifest {
  if (f.manifest === undefined) throw usageError('--manifest FILE is required (the reference manifest `uzpgw flash` wrote)');
  const signers = f['manifest-signer'].map((s) => cidFlag(s, 'manifest-signer'));
  if (signers.length === 0) throw usageError('--manifest-signer CID is required: which key do you trust to sign reference manifests? (`uzpgw flash` prints it)');
  const file = f.manifest;
  return naming(`--manifest ${file}`, () => readManifestFile(provider, file, { trusted: signers, now: Math.floor(Date.now() / 1000) }));
}

/** A TPM2B_NAME of a SHA-256 named key: nameAlg TPM_ALG_SHA256 (000b) || digest, as our AKs are. */
const AK_NAME = /^000b[0-9a-f]{64}$/;

/** `--trusted-ak [CID:]NAME`: an AK name, pinned to one gateway when a CID comes first. */
function trustedAkArg(value: string): TrustedAk {
  const colon = value.indexOf(':');
  const name = colon === -1 ? value : value.slice(colon + 1);
  if (!AK_NAME.test(name)) {
    throw usageError(`--trusted-ak: expected [CID:]NAME, NAME an AK name of 68 lowercase hex digits starting 000b (\`uzpgw attest\` prints it), got ${JSON.stringify(value.slice(0, 20))}`);
  }
  return colon === -1 ? { name: fromHex(name) } : { name: fromHex(name), gateway: cidFlag(value.slice(0, colon), 'trusted-ak') };
}

export function policyFromFlags(f: AppraisalFlags, gateway?: Uint8Array): AppraisalPolicy {
  const aks = f['trusted-ak'].map(trustedAkArg);
  const maxAge = f['max-age'];
  return {
    ...(f['require-tpm'] ? { requireTpm: true } : {}),
    ...(aks.length > 0 ? { trustedAks: aks } : {}),
    ...(f['allow-debug'] ? { allowDebug: true } : {}),
    ...(maxAge !== undefined ? { maxAgeSeconds: maxAge } : {}),
    ...(gateway !== undefined ? { gateway } : {}),
  };
}

function line(c: ClaimResult, indent: string): string {
  const mark = c.status === 'pass' ? 'ok  ' : c.status === 'fail' ? 'FAIL' : '--  ';
  return `${indent}${mark} ${c.claim.padEnd(22)} ${c.reason}`;
}

/**
 * The JSON form is one object: {ok, gateway, claims, slots}. Slot ids, device names and the reasons
 * that quote them come from the evidence, i.e. from the gateway: made inert for the terminal.
 */
export function renderAppraisal(r: AppraisalResult, json: boolean): string {
  if (json) return jsonLine({ ok: r.ok, gateway: r.gateway, claims: r.claims, slots: r.slots });
  const out = [`appraisal: ${r.ok ? 'PASS' : 'FAIL'}${r.gateway ? ` (gateway ${r.gateway})` : ''}`];
  for (const c of r.claims) out.push(line(c, '  '));
  for (const s of r.slots) {
    out.push(`  slot ${s.slot}: ${s.status === 'fail' ? 'FAIL' : 'ok'}`);
    for (const c of s.checks) out.push(line(c, '    '));
  }
  return out.map(printable).join('\n') + '\n';
}

/**
 * `uzpgw attest` for people: the evidence's claims, a line each. The device tree model, the slots'
 * devices and what the equipment reports of itself (identity) are text from outside the gateway's
 * code: made inert for the terminal, as an appraisal's are.
 */
export function renderEvidence(ev: Evidence, bytes: number, out: string | undefined, akName: string | undefined): string {
  const c = ev.claims;
  return (
    [
      `evidence for gateway ${toHex(ev.issuer)} (${bytes} bytes${out !== undefined ? `, written to ${out}` : ''})`,
      `  board ${c.board} (${c.hwmodel} ${c.hwversion})${c.dtmodel ? `, device tree: ${c.dtmodel}` : ''}`,
      `  software ${c.swname} ${c.swversion} on Node ${c.measurements.node}`,
      `  bundle ${c.measurements.bundle.files} files, root ${toHex(c.measurements.bundle.root)}`,
      `  config ${toHex(c.measurements.config)}`,
      `  key origin ${c.key_origin}${akName !== undefined ? ` (AK ${akName}; enroll it with \`attest verify --trusted-ak ${toHex(ev.issuer)}:${akName}\`)` : ''}, debug ${c.dbgstat}`,
      ...Object.entries(c.submods).map(([s, m]) => `  slot ${s}: ${m.device} (${m.driver}) on ${m.port}${m.identity ? `, reports ${m.identity.vendor} / ${m.identity.product} / ${m.identity.revision}` : ''}`),
    ]
      .map(printable)
      .join('\n') + '\n'
  );
}
