// The contract each artefact type implements: how its type-specific map "b" is encoded and
// decoded, which common fields it requires, and which extension ids it understands.

import type { CborMap } from '../cbor.js';
import type { CryptoProvider } from '../crypto/provider.js';
import type { CommonFields, ObjectType } from './types.js';

export type Presence = 'required' | 'forbidden';

export interface BodyCodec<B> {
  readonly type: ObjectType;
  /** Whether "sub" / "aud" must be present or absent in the common body for this type. */
  readonly subject: Presence;
  readonly audience: Presence;
  /** Extension ids this type understands; an unknown *critical* extension is refused (draft §12). */
  readonly knownExtensions: readonly string[];
  /** Type-specific map; throws ValidationError for bodies that break a type invariant (local misuse). */
  encode(body: B): CborMap;
  /** Throws only DecodeError. */
  decode(b: CborMap): B;
  /** Cross-field invariants (e.g. sub == CID(pk)); throws ValidationError with the type's code. */
  check(provider: CryptoProvider, common: CommonFields, body: B): void;
}
