// Object type -> body codec. Types without a codec yet ("attestation") decode structurally as
// envelopes but cannot be opened as typed artefacts (ARTEFACT_TYPE).

import type { BodyCodec } from './codec.js';
import { discoveryGrantCodec, type DiscoveryGrantBody } from './discovery-grant.js';
import { discoveryRevocationCodec, type DiscoveryRevocationBody } from './discovery-revocation.js';
import { grantCodec } from './grant.js';
import { pcertCodec } from './pcert.js';
import { porEvidenceCodec, type PorEvidenceBody } from './por-evidence.js';
import { receiptCodec, type ReceiptBody } from './receipt.js';
import { revocationCodec } from './revocation.js';
import { rnSetCodec } from './rnset.js';
import type { GrantBody, ObjectType, PCertBody, RevocationBody, RnSetBody } from './types.js';

/** Body type per object type that has a codec in this profile version. */
export interface BodyOf {
  pcert: PCertBody;
  grant: GrantBody;
  'rn-set': RnSetBody;
  revocation: RevocationBody;
  'por-evidence': PorEvidenceBody;
  'discovery-grant': DiscoveryGrantBody;
  receipt: ReceiptBody;
  'discovery-revocation': DiscoveryRevocationBody;
}
export type CodecType = keyof BodyOf;

const CODECS: { readonly [T in CodecType]: BodyCodec<BodyOf[T]> } = {
  pcert: pcertCodec,
  grant: grantCodec,
  'rn-set': rnSetCodec,
  revocation: revocationCodec,
  'por-evidence': porEvidenceCodec,
  'discovery-grant': discoveryGrantCodec,
  receipt: receiptCodec,
  'discovery-revocation': discoveryRevocationCodec,
};

export function codecFor<T extends CodecType>(type: T): BodyCodec<BodyOf[T]>;
export function codecFor(type: ObjectType): BodyCodec<unknown> | undefined;
export function codecFor(type: ObjectType): BodyCodec<unknown> | undefined {
  return Object.prototype.hasOwnProperty.call(CODECS, type) ? (CODECS[type as CodecType] as BodyCodec<unknown>) : undefined;
}
