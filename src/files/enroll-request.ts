// Enrollment request: what a new principal hands the domain admin so Pantheon can issue its PCert
// without ever seeing the secret key (draft §4.4: Pantheon certifies locally generated keys and
// need not custody them). The "pop" signature proves possession of the key.
//   {"kind":"uzp-gw/enroll-request","public":hex64,"cid":hex64,"name"?:text,"role"?:text,"pop":hex128}
// pop = Ed25519 over  u16be(len(ctx)) || ctx || u32be(len(m)) || m,  ctx = "uzp-gw/1 enroll-request",
//       m = canonical CBOR {"cid": bstr32, "pk": bstr32, "name"?: text, "role"?: text}
// so the signature covers the name and role the admin will read, and cannot be replayed as any
// artefact signature (different ctx).

import { equal, toHex } from '../uzp/bytes.js';
import { encodeCanonical, type CborMap } from '../uzp/cbor.js';
import type { CryptoProvider } from '../uzp/crypto/provider.js';
import { ED25519_PUBLIC_LENGTH, ED25519_SIGNATURE_LENGTH } from '../uzp/crypto/provider.js';
import { ErrorCode, ValidationError } from '../uzp/errors.js';
import { CID_LENGTH, cidOf } from '../uzp/identity/cid.js';
import type { Identity } from '../uzp/identity/identity.js';
import { MAX_TEXT } from '../uzp/artefacts/constants.js';
import { artefactSignatureInput } from '../uzp/artefacts/envelope.js';
import { isRole, ROLES } from '../uzp/artefacts/pcert.js';
import type { Role } from '../uzp/artefacts/types.js';
import { readFileCapped, writeFileAtomic } from './fsutil.js';
import { hexField, parseJsonObject, textField, utf8Text } from './json.js';
import { FileErrorCode } from './errors.js';
import { LocalError } from '../lib/errors.js';

const ENROLL_REQUEST_KIND = 'uzp-gw/enroll-request';
const ENROLL_POP_TYPE = 'enroll-request';
const KEYS = ['kind', 'public', 'cid', 'name', 'role', 'pop'] as const;
const MAX_REQUEST_FILE = 4096;

interface EnrollRequest {
  readonly publicKey: Uint8Array;
  readonly cid: Uint8Array;
  readonly name?: string;
  readonly role?: Role;
  readonly pop: Uint8Array;
}

function popInput(r: Omit<EnrollRequest, 'pop'>): Uint8Array {
  const m: CborMap = { cid: r.cid, pk: r.publicKey };
  if (r.name !== undefined) m.name = r.name;
  if (r.role !== undefined) m.role = r.role;
  return artefactSignatureInput(ENROLL_POP_TYPE, encodeCanonical(m));
}

export function createEnrollRequest(id: Identity, opts: { name?: string; role?: Role } = {}): EnrollRequest {
  const body = { publicKey: id.publicKey, cid: id.cid, ...(opts.name !== undefined ? { name: opts.name } : {}), ...(opts.role !== undefined ? { role: opts.role } : {}) };
  return { ...body, pop: id.signer.sign(popInput(body)) };
}

export function encodeEnrollRequest(r: EnrollRequest): string {
  const o: Record<string, string> = { kind: ENROLL_REQUEST_KIND, public: toHex(r.publicKey), cid: toHex(r.cid) };
  if (r.name !== undefined) o.name = r.name;
  if (r.role !== undefined) o.role = r.role;
  o.pop = toHex(r.pop);
  return JSON.stringify(o, null, 2) + '\n';
}

/** Parses and verifies a request: malformed -> FILE_INVALID; cid mismatch or bad pop -> SIG_INVALID. */
export function parseEnrollRequest(provider: CryptoProvider, text: string, file: string): EnrollRequest {
  const code = FileErrorCode.FILE_INVALID;
  const o = parseJsonObject(text, file, ENROLL_REQUEST_KIND, KEYS, code);
  const publicKey = hexField(o, 'public', ED25519_PUBLIC_LENGTH, file, code);
  const cid = hexField(o, 'cid', CID_LENGTH, file, code);
  const name = textField(o, 'name', MAX_TEXT, file, code);
  const role = textField(o, 'role', 16, file, code);
  if (role !== undefined && !isRole(role)) throw new LocalError(code, `${file}: field "role" must be one of ${ROLES.join(', ')}`);
  const pop = hexField(o, 'pop', ED25519_SIGNATURE_LENGTH, file, code);
  if (!equal(cidOf(provider, publicKey), cid)) throw new ValidationError(ErrorCode.SIG_INVALID, `${file}: "cid" is not BLAKE3-256 of "public"`);
  const req: EnrollRequest = { publicKey, cid, ...(name !== undefined ? { name } : {}), ...(role !== undefined ? { role } : {}), pop };
  if (!provider.ed25519Verify(publicKey, popInput(req), pop)) {
    throw new ValidationError(ErrorCode.SIG_INVALID, `${file}: proof of possession does not verify (request altered or not signed by this key)`);
  }
  return req;
}

export function writeEnrollRequest(file: string, r: EnrollRequest, opts: { overwrite?: boolean } = {}): void {
  writeFileAtomic(file, encodeEnrollRequest(r), { mode: 0o644, overwrite: opts.overwrite ?? false });
}

export function loadEnrollRequest(provider: CryptoProvider, file: string): EnrollRequest {
  const { bytes } = readFileCapped(file, MAX_REQUEST_FILE, 'enrollment request');
  return parseEnrollRequest(provider, utf8Text(bytes, file, FileErrorCode.FILE_INVALID), file);
}
