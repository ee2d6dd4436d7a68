// Issuing side: typed body -> envelope bytes. Used by Pantheon and by tests.

import type { CryptoProvider, Signer } from '../crypto/provider.js';
import { codecFor, type BodyOf, type CodecType } from './codecs.js';
import { sealEnvelope, type ArtefactFields } from './envelope.js';
import { openArtefact } from './open.js';
import { CommonCode, StateError } from '../../lib/errors.js';

/**
 * Signs `body` as an artefact of `fields.type` with `signer` as issuer (plus optional co-signers).
 * The result is decoded again before it is returned, so nothing this profile's decoders would
 * refuse can ever be issued (the error names the offending field).
 */
export function signArtefact<T extends CodecType>(
  provider: CryptoProvider,
  signer: Signer,
  fields: ArtefactFields & { readonly type: T },
  body: BodyOf[T],
  coSigners: readonly Signer[] = [],
): Uint8Array {
  const codec = codecFor(fields.type);
  if ((fields.subject !== undefined) !== (codec.subject === 'required')) {
    throw new StateError(CommonCode.USAGE, `${fields.type}: subject must be ${codec.subject === 'required' ? 'given' : 'omitted'}`);
  }
  if ((fields.audience !== undefined) !== (codec.audience === 'required')) {
    throw new StateError(CommonCode.USAGE, `${fields.type}: audience must be ${codec.audience === 'required' ? 'given' : 'omitted'}`);
  }
  const bytes = sealEnvelope(provider, [signer, ...coSigners], fields, codec.encode(body));
  openArtefact(provider, bytes, fields.type);
  return bytes;
}
