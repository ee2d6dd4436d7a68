// Shared tail of every issuing command. Order matters: sign (in memory; refuses anything our own
// decoders would refuse, e.g. an oversize list), then the caller saves its counters, then the
// artefact file is written. A counter therefore never goes backwards, and a refused artefact
// never consumes one.

import { writeArtefactFile } from '../files/artefact-file.js';
import type { BodyOf, CodecType } from '../uzp/artefacts/codecs.js';
import { decodeEnvelope, type ArtefactFields } from '../uzp/artefacts/envelope.js';
import { signArtefact } from '../uzp/artefacts/sign.js';
import { toHex } from '../uzp/bytes.js';
import type { CryptoProvider } from '../uzp/crypto/provider.js';
import type { Domain } from './domain.js';

export interface Issued {
  readonly bytes: Uint8Array;
  readonly objectId: string;
  /** Writes the artefact file (atomically). */
  write(out: string): void;
}

export function sign<T extends CodecType>(provider: CryptoProvider, d: Domain, fields: ArtefactFields & { readonly type: T }, body: BodyOf[T]): Issued {
  const bytes = signArtefact(provider, d.root.signer, fields, body);
  return { bytes, objectId: toHex(decodeEnvelope(provider, bytes).objectId), write: (out) => writeArtefactFile(out, bytes) };
}
