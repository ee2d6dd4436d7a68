// Shapes of the gateway's attestation (RFC 9334 roles: the gateway is the Attester, an operator or
// `uzpgw attest verify` the Verifier). Claim names follow RFC 9711 (EAT) JSON claim names; the
// encoding is our own eat_profile (docs/PROFILE.md §Attestation), deterministic CBOR inside the
// artefact envelope (object_type "attestation").

/** Our EAT profile identifier (RFC 9711 §4.3.2 eat_profile; a tag URI, RFC 4151). */
export const EAT_PROFILE = 'tag:uzp-gateway.dev,2026:eat-gw/1';

/** RFC 9711 §4.2.1: at least 64 bits of nonce; we also cap it (RFC 9711 allows up to 64 bytes). */
export const MIN_NONCE_BYTES = 8;
export const MAX_NONCE_BYTES = 64;

/** Length of the session binding (an E2E exporter value, draft §8) and of digests in the claims. */
export const BINDING_LENGTH = 32;
export const DIGEST_LENGTH = 32;

/** Which key vouches for the claims: the gateway's Ed25519 identity alone, or also a TPM quote. */
type KeyOrigin = 'software' | 'tpm';

/** RFC 9711 §4.2.9 dbgstat, the values a gateway process can honestly state about itself. */
type DebugStatus = 'enabled' | 'disabled';

/** What a device says about itself (Modbus Read Device Identification 43/14, basic objects 0x00-0x02). */
export interface DeviceIdentity {
  readonly vendor: string;
  readonly product: string;
  readonly revision: string;
}

/** One submod per slot (RFC 9711 §4.2.18; RFC 9334 §3.3 composite device: gateway = chassis, slots = modules). */
export interface SlotClaims {
  readonly device: string;
  readonly driver: string;
  /** Serial device path, "tcp://host:port" (Modbus TCP) or the MQTT broker URL without credentials. */
  readonly port: string;
  /** Absent when the device cannot tell (or has not answered yet). */
  readonly identity?: DeviceIdentity;
}

/**
 * The board facts the claims carry (RFC 9711 §4.2.3-4.2.5, from the board profile) and where the
 * profile file is installed: its bytes are measured as they are, not as a config says they are.
 */
export interface BoardFacts {
  readonly file: string;
  readonly id: string;
  /** 6 hex digits (IEEE OUI) or 32 hex digits (random). */
  readonly oemid: string;
  readonly hwmodel: string;
  readonly hwversion: string;
}

/** What one slot claims from configuration, before its device says who it is (a submod's base). */
export interface SlotClaimInput {
  readonly id: string;
  readonly device: string;
  readonly driver: string;
  /** As claimed: serial device path, "tcp://host:port", or a broker URL without credentials (measure.ts withoutCredentials). */
  readonly port: string;
}

/**
 * Everything attestation takes from the gateway's configuration, and no more: the layers above
 * (gateway, flash) build it from the validated config with one function, so the Attester and the
 * reference manifest of `uzpgw flash` measure the same thing. attest never sees GatewayConfig.
 */
export interface AttestInput {
  /** configDigest() of the validated config (the caller computes it; attest only carries it). */
  readonly configDigest: Uint8Array;
  readonly board: BoardFacts;
  /** In config order (the submods' order in JSON output). */
  readonly slots: readonly SlotClaimInput[];
  /** attestation.debug: dbgstat says "enabled" even without an inspector attached. */
  readonly debug: boolean;
}

/** One named part of the installed bundle (a dist directory, a node_modules package, a top-level file). */
export interface BundleGroup {
  readonly name: string;
  readonly files: number;
  /** Merkle root over the group's file leaves. */
  readonly root: Uint8Array;
}

/** BLAKE3 Merkle measurement of the installed bundle (src/attest/bundle.ts has the exact tree). */
export interface BundleMeasurement {
  /** Merkle root over the group leaves. */
  readonly root: Uint8Array;
  readonly files: number;
  /** Sorted by name; lets a verifier name the part that differs. */
  readonly groups: readonly BundleGroup[];
}

/**
 * The Node executable that runs the gateway: the runtime `uzpgw flash` shipped under
 * /opt/uzp-gateway/runtime, or the node --node named. SHA-256, not BLAKE3: the binary is ~120 MB,
 * OpenSSL's SHA-256 hashes it in a fraction of the time our BLAKE3 takes, and the value is the one
 * `sha256sum` prints, so an operator can check a binary by hand.
 */
export interface RuntimeMeasurement {
  /** Absolute path: process.execPath on the gateway; the device path in a reference manifest. */
  readonly path: string;
  /** SHA-256 of the executable's bytes. */
  readonly sha256: Uint8Array;
}

/** RFC 9711 §4.2.16 measurements, as named values of this profile. */
export interface Measurements {
  readonly bundle: BundleMeasurement;
  /** BLAKE3-256 of package-lock.json as installed. */
  readonly lockfile: Uint8Array;
  /** process.version of the Node running the gateway, e.g. "v24.22.3". */
  readonly node: string;
  /** The executable running the gateway. */
  readonly runtime: RuntimeMeasurement;
  /** configDigest() of the validated gateway config (src/config/digest.ts). */
  readonly config: Uint8Array;
  /** BLAKE3-256 of the board profile file's bytes. */
  readonly board: Uint8Array;
}

/** The claims set (RFC 9711 names). Byte strings are raw; times are Unix seconds. */
export interface Claims {
  readonly eat_profile: string;
  readonly eat_nonce: Uint8Array;
  /** RFC 9711 §4.2.1.1 UEID type 0x01 (random) || the gateway CID: 33 bytes. */
  readonly ueid: Uint8Array;
  readonly iat: number;
  /** RFC 9711 §4.2.3: 3 bytes (IEEE OUI) or 16 bytes (random). */
  readonly oemid: Uint8Array;
  readonly hwmodel: string;
  readonly hwversion: string;
  /** The board profile id the gateway runs with. */
  readonly board: string;
  /** /proc/device-tree/model when present (what the hardware says, next to what the profile says). */
  readonly dtmodel?: string;
  readonly swname: string;
  readonly swversion: string;
  readonly measurements: Measurements;
  readonly dbgstat: DebugStatus;
  /** RFC 9711 §4.2.11 bootseed: 32 bytes, constant for one OS boot (derived from the kernel boot_id). */
  readonly bootseed: Uint8Array;
  /** E2E exporter value (draft §8, label "uzp-gw attestation", context = eat_nonce); absent when not session-bound. */
  readonly binding?: Uint8Array;
  readonly key_origin: KeyOrigin;
  /** slot id -> slot claims. */
  readonly submods: Readonly<Record<string, SlotClaims>>;
}

/** A TPM 2.0 quote as tpm2-tools produce it (all TPM wire structures, big-endian). */
export interface TpmQuote {
  /** TPM2B_PUBLIC of the attestation key. */
  readonly akPublic: Uint8Array;
  /** TPMS_ATTEST (the quoted structure, TPM2B size prefix removed). */
  readonly attest: Uint8Array;
  /** TPMT_SIGNATURE over SHA-256(attest). */
  readonly signature: Uint8Array;
  /** PCR values quoted, concatenated in selection order (their SHA-256 is the quote's pcrDigest). */
  readonly pcrs: Uint8Array;
}

/** A decoded evidence artefact (signature not yet checked: appraisal does that). */
export interface Evidence {
  readonly claims: Claims;
  /** Canonical CBOR of the claims map: what the TPM qualifying value and the claims digest cover. */
  readonly claimsBytes: Uint8Array;
  /** Ed25519 public key of the gateway identity (CID = BLAKE3(pk) = ueid[1..]). */
  readonly publicKey: Uint8Array;
  readonly tpm?: TpmQuote;
  /** Envelope fields. */
  readonly issuer: Uint8Array;
  readonly issuedAt: number;
  readonly expiresAt: number;
  readonly objectId: Uint8Array;
  readonly bytes: Uint8Array;
}

/** What a reference manifest expects of one slot. */
interface SlotReference {
  readonly device: string;
  readonly driver: string;
  readonly port: string;
  readonly identity?: DeviceIdentity;
}

/** Reference values (RFC 9334 §8.3) for one board + software version, written by `uzpgw flash`. */
export interface ReferenceManifest {
  readonly board: string;
  readonly oemid: Uint8Array;
  readonly hwmodel: string;
  readonly hwversion: string;
  readonly swname: string;
  readonly swversion: string;
  readonly bundle: BundleMeasurement;
  readonly lockfile: Uint8Array;
  /** Node versions the bundle is meant to run on (exact strings, e.g. "v24.22.3"). */
  readonly node: readonly string[];
  /** The runtime flash installed; absent when the image runs a node flash did not ship (--node). */
  readonly runtime?: RuntimeMeasurement;
  readonly config: Uint8Array;
  readonly boardDigest: Uint8Array;
  readonly slots: Readonly<Record<string, SlotReference>>;
}

/** Outcome of one check. `skip` = not asked for by the policy (informational). */
type CheckStatus = 'pass' | 'fail' | 'skip';

export interface ClaimResult {
  readonly claim: string;
  readonly status: CheckStatus;
  /** Why it failed or was skipped; for a pass, a short statement of what was checked. */
  readonly reason: string;
}

export interface SlotResult {
  readonly slot: string;
  readonly status: CheckStatus;
  readonly checks: readonly ClaimResult[];
}

export interface AppraisalResult {
  /** True iff no claim and no slot failed. */
  readonly ok: boolean;
  readonly gateway?: string;
  readonly claims: readonly ClaimResult[];
  readonly slots: readonly SlotResult[];
}
