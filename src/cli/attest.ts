// `uzpgw attest`: the gateway's current evidence for a verifier's nonce (run on the gateway), and
// `uzpgw attest verify`: appraisal of an evidence file against a signed reference manifest.

import { appraise } from '../attest/appraise.js';
import { decodeEvidence } from '../attest/evidence.js';
import { NonceStore } from '../attest/nonces.js';
import { SeenNonces } from '../attest/seen-nonces.js';
import { akNameOf } from '../attest/tpm/structures.js';
import { loadGatewayConfig } from '../config/index.js';
import { createAttester } from '../gateway/attestation.js';
import { loadKeyFile } from '../files/keyfile.js';
import { readFileCapped, writeFileAtomic } from '../files/fsutil.js';
import { jsonLine } from '../lib/terminal-text.js';
import { toHex } from '../uzp/bytes.js';
import type { CborValue } from '../uzp/cbor.js';
import { markedJson } from '../uzp/cbor-marked.js';
import { nodeProvider } from '../uzp/crypto/node.js';
import { APPRAISAL_FLAGS, manifestFromFlags, parseHex, policyFromFlags, renderAppraisal, renderEvidence } from './attest-common.js';
import { defineCommand, defineGroup } from './define.js';
import { cidFlag, usageError } from './flags.js';

const MAX_EVIDENCE_FILE = 256 * 1024;
const DEFAULT_CONFIG = '/etc/uzp-gateway/gateway.json';

function nonceArg(hex: string): Uint8Array {
  if (!/^([0-9a-f]{2}){8,64}$/.test(hex)) throw usageError('--nonce: 16..128 lowercase hex digits (8..64 bytes)');
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

function readEvidence(file: string): Uint8Array {
  const raw = readFileCapped(file, MAX_EVIDENCE_FILE, 'evidence').bytes;
  // Accept the hex that `attest --json` prints as well as raw CBOR.
  const text = Buffer.from(raw).toString('latin1').trim();
  return /^([0-9a-f]{2})+$/.test(text) ? new Uint8Array(Buffer.from(text, 'hex')) : raw;
}

/**
 * The reference manifest is per image, not per gateway: without a pinned CID, evidence another
 * gateway of the same image made for this nonce passes (its `ueid` is only reported). So the
 * verifier says which gateway it expects, or says explicitly that any will do.
 */
function gatewayArg(cid: string | undefined, any: boolean): Uint8Array | undefined {
  if (cid !== undefined && any) throw usageError('--gateway and --any-gateway exclude each other: pin one gateway, or accept any');
  if (cid === undefined && !any) {
    throw usageError('say which gateway the evidence must come from: --gateway CID (its identity, as `uzpgw attest` prints it), or --any-gateway to accept any gateway the manifest fits');
  }
  return cid === undefined ? undefined : cidFlag(cid, 'gateway');
}

const evidence = defineCommand({
  name: 'attest',
  summary: "print this gateway's attestation evidence for a verifier's nonce",
  description:
    "Prints this gateway's evidence (EAT claims: measurements of the installed bundle, config and board, per-slot devices; signed by the gateway identity, with a TPM quote when a TPM holds the attestation key). Evidence made here is not session-bound; operators get session-bound evidence with `uzpgw connect … attest`.",
  flags: {
    nonce: { type: 'string', placeholder: 'HEX', required: true, describe: "the verifier's nonce, 8..64 bytes as hex" },
    config: { type: 'string', placeholder: 'FILE', default: DEFAULT_CONFIG, describe: 'gateway config file (where `uzpgw flash` installs it)' },
    out: { type: 'string', placeholder: 'FILE', describe: 'also write the evidence (CBOR) to FILE (a regular file there is replaced, through a symlink too; a pipe, device or directory is refused)' },
  },
  json: 'one JSON object: {evidence (hex), gateway, key_origin, ak_name (hex, when a TPM holds the key), claims}; a byte string in the claims is hex under its key with _hex added (eat_nonce_hex, measurements.config_hex), as connect tail marks them',
  async run({ flags }, io) {
    const nonce = nonceArg(flags.nonce);
    const config = loadGatewayConfig(flags.config);
    const id = loadKeyFile(nodeProvider, config.identity.key);
    // No device ports here (the running gateway owns them): slots are reported without device identity.
    const { attester } = await createAttester({ provider: nodeProvider, cid: id.cid, signer: id.signer, config, devices: new Map() });
    const bytes = await attester.evidence(nonce);
    const out = flags.out;
    if (out !== undefined) writeFileAtomic(out, bytes, { mode: 0o644, overwrite: true });
    const ev = decodeEvidence(nodeProvider, bytes);
    // What a verifier enrolls with `attest verify --trusted-ak CID:NAME`.
    const akName = ev.tpm === undefined ? undefined : toHex(akNameOf(nodeProvider, ev.tpm.akPublic));
    if (flags.json) {
      // evidence, gateway and ak_name are bytes by definition and go as printed into `attest verify`
      // (--evidence FILE, --gateway, --trusted-ak): plain hex, as pantheon show keeps issuer plain.
      // The claims are CBOR shown as found: their byte strings marked like every command's
      // (uzp/cbor-marked.ts), so a digest never prints like text (eat_nonce_hex beside board).
      const o = { evidence: toHex(bytes), gateway: toHex(ev.issuer), key_origin: ev.claims.key_origin, ...(akName !== undefined ? { ak_name: akName } : {}) };
      io.stdout.write(jsonLine({ ...o, claims: markedJson(ev.claims as unknown as CborValue) }));
      return 0;
    }
    io.stdout.write(renderEvidence(ev, bytes.length, out, akName));
    return 0;
  },
});

const verify = defineCommand({
  name: 'attest verify',
  summary: 'appraise evidence against a signed reference manifest',
  description:
    'Appraises evidence against a signed reference manifest and prints a result per claim and per slot, with the reason for every failure. Say which gateway the evidence must come from (--gateway CID), or that any gateway of the image will do (--any-gateway). --trusted-ak CID:NAME pins an enrolled TPM attestation key to its gateway and requires a quote by it. Exit 0 when it passes, 1 when it does not.',
  flags: {
    evidence: { type: 'string', placeholder: 'FILE', required: true, describe: 'evidence file (CBOR, or its hex)' },
    nonce: { type: 'string', placeholder: 'HEX', required: true, describe: 'the nonce you sent, as hex (the evidence must echo it)' },
    seen: { type: 'string', placeholder: 'FILE', describe: 'file of nonces already used (created if missing): a nonce is accepted once; kept at most 4 MiB, a nonce for as long as its evidence could pass any --max-age' },
    exporter: { type: 'string', placeholder: 'HEX', describe: 'the session exporter value the evidence must carry, as hex' },
    gateway: { type: 'string', placeholder: 'CID', describe: 'the gateway CID the evidence must come from (or --any-gateway)' },
    'any-gateway': { type: 'boolean', describe: 'accept evidence from any gateway the manifest fits (instead of --gateway)' },
    ...APPRAISAL_FLAGS,
    // Optional for `connect`, always needed here.
    manifest: { ...APPRAISAL_FLAGS.manifest, required: true },
    'manifest-signer': { ...APPRAISAL_FLAGS['manifest-signer'], required: true },
  },
  json: 'one JSON object: {ok, gateway, claims: [{claim, status, reason}], slots: [{slot, status, checks}]}',
  run({ flags }, io) {
    // Every flag value before any file: a bad one is a usage error (exit 2) even when a file is missing.
    const nonce = nonceArg(flags.nonce);
    const gateway = gatewayArg(flags.gateway, flags['any-gateway']);
    const policy = policyFromFlags(flags, gateway);
    const exporter = parseHex(flags.exporter, 'exporter');
    const evidence = readEvidence(flags.evidence);
    const signed = manifestFromFlags(nodeProvider, flags);
    const nowS = Math.floor(Date.now() / 1000);
    const seen = flags.seen !== undefined ? SeenNonces.load(flags.seen, nowS) : undefined;
    const store = new NonceStore(nodeProvider);
    store.remember(nonce);
    if (seen?.has(toHex(nonce)) === true) store.consume(nonce); // already used once: the appraisal reports a replay
    const result = appraise(nodeProvider, evidence, signed.manifest, policy, { nonce: { store }, now: nowS, ...(exporter !== undefined ? { binding: exporter } : {}) });
    // A passing eat_nonce means the evidence decoded and echoes our nonce; its iat says how long to keep it.
    if (seen !== undefined && result.claims.some((c) => c.claim === 'eat_nonce' && c.status === 'pass')) seen.record(toHex(nonce), decodeEvidence(nodeProvider, evidence).claims.iat, nowS);
    io.stdout.write(renderAppraisal(result, flags.json));
    return result.ok ? 0 : 1;
  },
});

export const command = defineGroup({
  name: 'attest',
  summary: "print this gateway's attestation evidence; `attest verify` appraises evidence",
  description:
    "Prints this gateway's evidence for a verifier's nonce (run on the gateway), or with `verify` appraises evidence against a signed reference manifest (run by the verifier).",
  default: evidence,
  subcommands: [verify],
});
