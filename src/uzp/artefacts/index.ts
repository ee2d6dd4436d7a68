// Public surface of the artefacts area: import from here rather than from the individual files.

export * from './types.js';
export * from './constants.js';
export { artefactSignatureInput, sealEnvelope, decodeEnvelope, encodeBody, compareBytes, type ArtefactFields, type RawEnvelope } from './envelope.js';
export { codecFor, type BodyOf, type CodecType } from './codecs.js';
export type { BodyCodec, Presence } from './codec.js';
export { openArtefact, openAndVerify, verifySignatures, type ResolveKey, type OpenOptions } from './open.js';
export { signArtefact } from './sign.js';
export { pcertCodec, ROLES, isRole } from './pcert.js';
export { grantCodec, PURPOSE_PATTERN } from './grant.js';
export { rnSetCodec, isRnAddress } from './rnset.js';
export { revocationCodec } from './revocation.js';
export { SigCache } from './sigcache.js';
export { NonceTracker } from './nonces.js';
export { TrustStore, type TrustStoreOptions } from './trust.js';
export { compareVersion, type TrustContext } from './validate-common.js';
