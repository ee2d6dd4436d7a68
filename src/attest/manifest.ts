// Reference manifest (RFC 9334 §8.3 reference values): what a correctly flashed gateway of one board
// and software version measures. Written and signed by `uzpgw flash`, read by every verifier.
// One artefact envelope (object_type "reference-manifest", docs/PROFILE.md §Attestation):
//   b = {"pk": bstr32 (signer's Ed25519 key), "board": text, "oemid": bstr3|16, "hwmodel": text,
//        "hwversion": text, "swname": text, "swversion": text, "bundle": bundle, "lockfile": bstr32,
//        "node": [text, ...], "runtime"?: runtime, "config": bstr32, "board_digest": bstr32,
//        "slots": {slot: slot}}
// The envelope's issuer must be CID(pk); the verifier decides whether it trusts that CID.

import { readFileCapped } from '../files/fsutil.js';
import { equal, toHex } from '../uzp/bytes.js';
import { asArray, asBytes, asMap, asText, onlyKeys, type CborMap } from '../uzp/cbor.js';
import type { CryptoProvider, Signer } from '../uzp/crypto/provider.js';
import { ED25519_PUBLIC_LENGTH } from '../uzp/crypto/provider.js';
import { ErrorCode, ValidationError } from '../uzp/errors.js';
import { cidOf } from '../uzp/identity/cid.js';
import { decodeEnvelope, sealEnvelope } from '../uzp/artefacts/envelope.js';
import { verifySignatures } from '../uzp/artefacts/open.js';
import { decodeBundle, decodeOemid, decodeRuntime, decodeSlots, encodeBundle, encodeRuntime, encodeSlots, MAX_NAME } from './cbor-parts.js';
import type { ReferenceManifest } from './types.js';
import { DIGEST_LENGTH } from './types.js';
import { CommonCode, DecodeError } from '../lib/errors.js';

const MANIFEST_TYPE = 'reference-manifest';
const KEYS = ['pk', 'board', 'oemid', 'hwmodel', 'hwversion', 'swname', 'swversion', 'bundle', 'lockfile', 'node', 'runtime', 'config', 'board_digest', 'slots'] as const;
/** Default lifetime of a manifest: reference values of one software version stay valid this long. */
const MANIFEST_LIFETIME_SECONDS = 5 * 365 * 24 * 3600;
const MAX_MANIFEST_FILE = 256 * 1024;

export interface SignedManifest {
  readonly manifest: ReferenceManifest;
  /** CID of the signer (envelope issuer). */
  readonly signer: Uint8Array;
  readonly issuedAt: number;
  readonly expiresAt: number;
  readonly bytes: Uint8Array;
}

function encodeManifest(m: ReferenceManifest, pk: Uint8Array): CborMap {
  const out: CborMap = {
    pk,
    board: m.board,
    oemid: m.oemid,
    hwmodel: m.hwmodel,
    hwversion: m.hwversion,
    swname: m.swname,
    swversion: m.swversion,
    bundle: encodeBundle(m.bundle),
    lockfile: m.lockfile,
    node: [...m.node],
    config: m.config,
    board_digest: m.boardDigest,
    slots: encodeSlots(m.slots),
  };
  if (m.runtime !== undefined) out.runtime = encodeRuntime(m.runtime);
  return out;
}

function decodeManifestBody(b: CborMap): { manifest: ReferenceManifest; pk: Uint8Array } {
  onlyKeys(b, KEYS, 'manifest');
  const node = asArray(b.node, 'manifest.node', 16).map((v, i) => asText(v, `manifest.node[${i}]`, 32));
  if (node.length === 0) throw new DecodeError(CommonCode.DECODE_VALUE, 'manifest.node: at least one Node version');
  return {
    pk: asBytes(b.pk, 'manifest.pk', ED25519_PUBLIC_LENGTH),
    manifest: {
      board: asText(b.board, 'manifest.board', 64),
      oemid: decodeOemid(b.oemid, 'manifest.oemid'),
      hwmodel: asText(b.hwmodel, 'manifest.hwmodel', MAX_NAME),
      hwversion: asText(b.hwversion, 'manifest.hwversion', 64),
      swname: asText(b.swname, 'manifest.swname', MAX_NAME),
      swversion: asText(b.swversion, 'manifest.swversion', 64),
      bundle: decodeBundle(b.bundle, 'manifest.bundle'),
      lockfile: asBytes(b.lockfile, 'manifest.lockfile', DIGEST_LENGTH),
      node,
      ...(b.runtime !== undefined ? { runtime: decodeRuntime(b.runtime, 'manifest.runtime') } : {}),
      config: asBytes(b.config, 'manifest.config', DIGEST_LENGTH),
      boardDigest: asBytes(b.board_digest, 'manifest.board_digest', DIGEST_LENGTH),
      slots: decodeSlots(b.slots, 'manifest.slots'),
    },
  };
}

export function signManifest(p: CryptoProvider, signer: Signer, m: ReferenceManifest, now = Math.floor(Date.now() / 1000), lifetime = MANIFEST_LIFETIME_SECONDS): Uint8Array {
  const bytes = sealEnvelope(p, [signer], { type: MANIFEST_TYPE, issuedAt: now, notBefore: now, expiresAt: now + lifetime }, encodeManifest(m, signer.publicKey));
  openManifest(p, bytes);
  return bytes;
}

/**
 * Decodes and verifies a manifest's own signature (issuer = CID(pk)). Whether the signer is trusted
 * is the caller's decision: pass `trusted` to require one of those CIDs. Validity window is checked
 * against `now` when given.
 */
export function openManifest(p: CryptoProvider, bytes: Uint8Array, opts: { trusted?: readonly Uint8Array[]; now?: number } = {}): SignedManifest {
  const raw = decodeEnvelope(p, bytes);
  if (raw.type !== MANIFEST_TYPE) throw new ValidationError(ErrorCode.ARTEFACT_TYPE, `expected a ${MANIFEST_TYPE}, got ${raw.type}`);
  if (raw.subject !== undefined || raw.audience !== undefined) throw new DecodeError(CommonCode.DECODE_VALUE, 'manifest: sub and aud must be absent');
  for (const e of raw.extensions) if (e.critical) throw new ValidationError(ErrorCode.ARTEFACT_CRITICAL_EXT, `manifest: unknown critical extension ${JSON.stringify(e.id)}`);
  const { manifest, pk } = decodeManifestBody(asMap(raw.body, 'manifest'));
  if (!equal(cidOf(p, pk), raw.issuer)) throw new ValidationError(ErrorCode.ARTEFACT_ISSUER, 'manifest: issuer is not CID(pk)');
  if (raw.signatures.length !== 1) throw new ValidationError(ErrorCode.SIG_INVALID, 'manifest: exactly one signature expected');
  if (opts.trusted !== undefined && !opts.trusted.some((c) => equal(c, raw.issuer))) {
    throw new ValidationError(ErrorCode.SIG_UNKNOWN_SIGNER, `manifest signed by ${toHex(raw.issuer)}, which is not a trusted manifest signer`);
  }
  verifySignatures(p, raw, (kid) => (equal(kid, raw.issuer) ? pk : undefined));
  if (opts.now !== undefined) {
    if (opts.now < raw.notBefore) throw new ValidationError(ErrorCode.ARTEFACT_NOT_YET_VALID, 'manifest: not yet valid');
    if (opts.now > raw.expiresAt) throw new ValidationError(ErrorCode.ARTEFACT_EXPIRED, 'manifest: expired');
  }
  return { manifest, signer: raw.issuer, issuedAt: raw.issuedAt, expiresAt: raw.expiresAt, bytes };
}

export function readManifestFile(p: CryptoProvider, path: string, opts: { trusted?: readonly Uint8Array[]; now?: number } = {}): SignedManifest {
  return openManifest(p, readFileCapped(path, MAX_MANIFEST_FILE, 'reference manifest').bytes, opts);
}
