// Decoded shapes of the signed artefacts (UZPIF common envelope as profiled in docs/PROFILE.md).
// Every artefact is one envelope: a canonical-CBOR body (common fields + a type-specific part)
// plus ordered signatures. These are *decoded* views; only the validate* functions in
// ./validate-*.ts (via TrustStore) produce values of the `Valid*` types, so code that needs a
// checked Grant or PCert cannot be handed an unchecked one (rustls-style proof types).

import type { ModbusTable } from '../../lib/modbus-tables.js';

export type ObjectType =
  | 'pcert'
  | 'grant'
  | 'rn-set'
  | 'revocation'
  | 'attestation'
  | 'por-evidence'
  | 'reference-manifest'
  // outbound indexing (OI draft §9.1, §11.5, §11.6): publisher -> collector consent artefacts
  | 'discovery-grant'
  | 'receipt'
  | 'discovery-revocation';

/** PCert roles. A collector is the OI draft's Indexer (§7.1): a responder that gateways publish to. */
export type Role = 'gateway' | 'operator' | 'rn' | 'collector';

export interface Extension {
  readonly id: string;
  readonly critical: boolean;
  /** Canonical CBOR of the extension value, kept opaque here. */
  readonly value: Uint8Array;
}

export interface Signature {
  readonly alg: 'ed25519';
  /** CID of the signer (BLAKE3-256 of its Ed25519 public key). */
  readonly kid: Uint8Array;
  readonly sig: Uint8Array;
}

/** Fields shared by every artefact (UZPIF common envelope). Times are Unix seconds. */
export interface CommonFields {
  readonly type: ObjectType;
  /** BLAKE3-256 of the canonical body bytes. */
  readonly objectId: Uint8Array;
  readonly issuer: Uint8Array;
  readonly subject?: Uint8Array;
  readonly audience?: Uint8Array;
  readonly issuedAt: number;
  readonly notBefore: number;
  readonly expiresAt: number;
  readonly epoch: number;
  readonly sequence: number;
  readonly extensions: readonly Extension[];
}

export interface Envelope<B> extends CommonFields {
  readonly body: B;
  /** The exact canonical body bytes that were signed and hashed. */
  readonly bodyBytes: Uint8Array;
  readonly signatures: readonly Signature[];
  /** The exact envelope bytes as received or produced. */
  readonly bytes: Uint8Array;
}

export interface PCertBody {
  readonly publicKey: Uint8Array;
  readonly role: Role;
  readonly name?: string;
}

/** One purpose of a Grant, e.g. {purpose:'modbus.write', units:[1], tables:['holding'], registers:[[0,99]]}. */
export interface Purpose {
  readonly purpose: string;
  /** Inclusive [first, last] address ranges (Modbus purposes), in the tables below. */
  readonly registers?: readonly (readonly [number, number])[];
  /** Modbus unit ids the purpose applies to. */
  readonly units?: readonly number[];
  /** Modbus tables the purpose covers; absent = holding registers only (docs/PROFILE.md §Grant). */
  readonly tables?: readonly ModbusTable[];
  /** MQTT topic filters (mqtt.* purposes). */
  readonly topics?: readonly string[];
}

/** One slot a Grant reaches (draft §4.3: a HIL scope names the slot and may name the device), with what it may do there. */
export interface GrantScope {
  readonly slot: string;
  readonly device?: string;
  readonly purposes: readonly Purpose[];
}

export interface GrantBody {
  /** The slots this Grant reaches, each once, each with its purposes. */
  readonly scopes: readonly GrantScope[];
  /** Per (issuer, subject, audience); ordered only for early data (draft §9, docs/PROFILE.md §Grant). */
  readonly nonce: number;
  readonly earlyData: boolean;
  readonly noReplay: boolean;
}

export interface RnEntry {
  readonly cid: Uint8Array;
  readonly publicKey: Uint8Array;
  /** "host:port" strings the EP may dial. */
  readonly addresses: readonly string[];
  readonly roles: readonly string[];
}

export interface RnSetBody {
  readonly scope: string;
  readonly rns: readonly RnEntry[];
}

export interface RevocationBody {
  /** Revoked identities (CIDs). */
  readonly cids: readonly Uint8Array[];
  /** Revoked artefacts (object_ids of PCerts, Grants...). */
  readonly objectIds: readonly Uint8Array[];
}

export type PCert = Envelope<PCertBody>;
export type Grant = Envelope<GrantBody>;
export type RnSet = Envelope<RnSetBody>;
export type Revocation = Envelope<RevocationBody>;

declare const validBrand: unique symbol;
/** An artefact that passed validation at a given time under a given trust context. */
export type Valid<T> = T & { readonly [validBrand]: true };
