// `uzpgw attest`: the gateway's current evidence for a verifier's nonce (run on the gateway), and
// `uzpgw attest verify`: appraisal of an evidence file against a signed reference manifest.

import { readFileSync } from 'node:fs';
import { appraise } from '../attest/appraise.js';
import { decodeEvidence } from '../attest/evidence.js';
import { NonceStore } from '../attest/nonces.js';
import { loadGatewayConfig } from '../config/index.js';
import { createAttester } from '../gateway/attestation.js';
import { loadKeyFile } from '../files/keyfile.js';
import { readFileCapped, writeFileAtomic } from '../files/fsutil.js';
import { toHex } from '../uzp/bytes.js';
import { cborToJson, type CborValue } from '../uzp/cbor.js';
import { nodeProvider } from '../uzp/crypto/node.js';
import { parseCid } from '../uzp/identity/cid.js';
import { bool, helpText, parseArgs, requireStr, str, usageError, type FlagSpecs } from './args.js';
import { APPRAISAL_FLAGS, manifestFromFlags, parseHex, policyFromFlags, renderAppraisal } from './attest-common.js';
import type { Command, CommandIo } from './command.js';
import { FileErrorCode } from '../files/errors.js';
import { LocalError } from '../lib/errors.js';

const MAX_EVIDENCE_FILE = 256 * 1024;
const DEFAULT_CONFIG = '/etc/uzp-gateway/gateway.json';

const FLAGS: FlagSpecs = {
  config: { type: 'string', describe: `gateway config file (default ${DEFAULT_CONFIG}, where \`uzpgw flash\` installs it)`, placeholder: 'FILE' },
  nonce: { type: 'string', describe: "the verifier's nonce, 8..64 bytes as hex", placeholder: 'HEX' },
  out: { type: 'string', describe: 'also write the evidence (CBOR) to FILE', placeholder: 'FILE' },
  json: { type: 'boolean', describe: 'print one JSON object: evidence (hex) and its claims' },
};
const USAGE = 'uzpgw attest --nonce HEX [--config FILE] [--out FILE] [--json]\n       uzpgw attest verify --evidence FILE --manifest FILE --manifest-signer CID --nonce HEX [options]';
const DESCRIPTION =
  "Prints this gateway's evidence (EAT claims: measurements of the installed bundle, config and board, per-slot devices; signed by the gateway identity, with a TPM quote when a TPM holds the attestation key). Evidence made here is not session-bound; operators get session-bound evidence with `uzpgw connect … attest`.";

const VERIFY_FLAGS: FlagSpecs = {
  evidence: { type: 'string', describe: 'evidence file (CBOR, or its hex)', placeholder: 'FILE' },
  nonce: { type: 'string', describe: 'the nonce you sent, as hex (the evidence must echo it)', placeholder: 'HEX' },
  seen: { type: 'string', describe: 'file of nonces already used (created if missing): a nonce is accepted once', placeholder: 'FILE' },
  exporter: { type: 'string', describe: 'the session exporter value the evidence must carry, as hex', placeholder: 'HEX' },
  gateway: { type: 'string', describe: 'the gateway CID the evidence must come from', placeholder: 'CID' },
  ...APPRAISAL_FLAGS,
  json: { type: 'boolean', describe: 'print the result as one JSON object' },
};
const VERIFY_USAGE = 'uzpgw attest verify --evidence FILE --manifest FILE --manifest-signer CID --nonce HEX [--seen FILE] [--exporter HEX] [--gateway CID] [--require-tpm --trusted-ak HEX] [--allow-debug] [--json]';
const VERIFY_DESCRIPTION = 'Appraises evidence against a signed reference manifest and prints a result per claim and per slot, with the reason for every failure. Exit 0 when it passes, 1 when it does not.';

function nonceArg(hex: string | undefined): Uint8Array {
  if (hex === undefined) throw usageError('--nonce HEX is required (8..64 bytes from the verifier)');
  if (!/^([0-9a-f]{2}){8,64}$/.test(hex)) throw usageError('--nonce: 16..128 lowercase hex digits (8..64 bytes)');
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

async function evidenceCommand(argv: string[], io: CommandIo): Promise<number> {
  const p = parseArgs(argv, FLAGS);
  if (p.positionals.length > 0) throw usageError(`unexpected argument ${JSON.stringify(p.positionals[0])}`);
  const nonce = nonceArg(str(p, 'nonce'));
  const config = loadGatewayConfig(str(p, 'config') ?? DEFAULT_CONFIG);
  const id = loadKeyFile(nodeProvider, config.identity.key);
  // No device ports here (the running gateway owns them): slots are reported without device identity.
  const { attester } = await createAttester({ provider: nodeProvider, cid: id.cid, signer: id.signer, config, devices: new Map() });
  const bytes = await attester.evidence(nonce);
  const out = str(p, 'out');
  if (out !== undefined) writeFileAtomic(out, bytes, { mode: 0o644, overwrite: true });
  const ev = decodeEvidence(nodeProvider, bytes);
  if (bool(p, 'json')) {
    io.stdout.write(JSON.stringify({ evidence: toHex(bytes), gateway: toHex(ev.issuer), key_origin: ev.claims.key_origin, claims: cborToJson(ev.claims as unknown as CborValue) }) + '\n');
  } else {
    const c = ev.claims;
    io.stdout.write(
      [
        `evidence for gateway ${toHex(ev.issuer)} (${bytes.length} bytes${out !== undefined ? `, written to ${out}` : ''})`,
        `  board ${c.board} (${c.hwmodel} ${c.hwversion})${c.dtmodel ? `, device tree: ${c.dtmodel}` : ''}`,
        `  software ${c.swname} ${c.swversion} on Node ${c.measurements.node}`,
        `  bundle ${c.measurements.bundle.files} files, root ${toHex(c.measurements.bundle.root)}`,
        `  config ${toHex(c.measurements.config)}`,
        `  key origin ${c.key_origin}, debug ${c.dbgstat}`,
        ...Object.entries(c.submods).map(([s, m]) => `  slot ${s}: ${m.device} (${m.driver}) on ${m.port}${m.identity ? `, reports ${m.identity.vendor} / ${m.identity.product} / ${m.identity.revision}` : ''}`),
      ].join('\n') + '\n',
    );
  }
  return 0;
}

function readEvidence(file: string): Uint8Array {
  const raw = readFileCapped(file, MAX_EVIDENCE_FILE, 'evidence').bytes;
  // Accept the hex that `attest --json` prints as well as raw CBOR.
  const text = Buffer.from(raw).toString('latin1').trim();
  return /^([0-9a-f]{2})+$/.test(text) ? new Uint8Array(Buffer.from(text, 'hex')) : raw;
}

function loadSeen(file: string | undefined): Set<string> {
  if (file === undefined) return new Set();
  try {
    const v = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new Error('not a JSON array of hex strings');
    return new Set(v as string[]);
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') return new Set();
    throw new LocalError(FileErrorCode.FILE_INVALID, `${file}: ${(e as Error).message}`);
  }
}

async function verifyCommand(argv: string[], io: CommandIo): Promise<number> {
  if (argv.includes('--help')) {
    io.stdout.write(helpText(VERIFY_USAGE, VERIFY_DESCRIPTION, VERIFY_FLAGS));
    return 0;
  }
  const p = parseArgs(argv, VERIFY_FLAGS);
  if (p.positionals.length > 0) throw usageError(`unexpected argument ${JSON.stringify(p.positionals[0])}`);
  const nonce = nonceArg(str(p, 'nonce'));
  const evidence = readEvidence(requireStr(p, 'evidence'));
  const gatewayArg = str(p, 'gateway');
  const gateway = gatewayArg !== undefined ? parseCid(gatewayArg) : undefined;
  const policy = policyFromFlags(p, gateway);
  const signed = manifestFromFlags(nodeProvider, p);
  const exporter = parseHex(p, 'exporter');
  const seenFile = str(p, 'seen');
  const seen = loadSeen(seenFile);
  const store = new NonceStore(nodeProvider);
  store.remember(nonce);
  if (seen.has(toHex(nonce))) store.consume(nonce); // already used once: the appraisal reports a replay
  const result = appraise(nodeProvider, evidence, signed.manifest, policy, { nonce: { store }, ...(exporter !== undefined ? { binding: exporter } : {}) });
  if (seenFile !== undefined && result.claims.some((c) => c.claim === 'eat_nonce' && c.status === 'pass')) {
    seen.add(toHex(nonce));
    writeFileAtomic(seenFile, JSON.stringify([...seen]) + '\n', { mode: 0o600, overwrite: true });
  }
  io.stdout.write(renderAppraisal(result, bool(p, 'json')));
  return result.ok ? 0 : 1;
}

export const command: Command = {
  summary: "print this gateway's attestation evidence; `attest verify` appraises evidence",
  async run(argv, io) {
    if (argv[0] === 'verify') return verifyCommand(argv.slice(1), io);
    if (argv.includes('--help')) {
      io.stdout.write(helpText(USAGE, DESCRIPTION, FLAGS));
      return 0;
    }
    return evidenceCommand(argv, io);
  },
};
