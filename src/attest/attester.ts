// The gateway as RFC 9334 Attester: gathers the claims of our eat_profile and signs them as evidence.
// Measurements are taken from what is installed and running (the bundle this process loaded, the
// config it validated, the board file it read), never from what a config says should be there.

import { readFileSync } from 'node:fs';
import { utf8 } from '../uzp/bytes.js';
import type { CryptoProvider, Signer } from '../uzp/crypto/provider.js';
import { BundleMeasurer } from './bundle.js';
import { oemidBytes } from './cbor-parts.js';
import { ueidOf } from './claims.js';
import { claimsDigest, signEvidence } from './evidence.js';
import { boardDigest, lockfileDigest, RUNNING_BUNDLE_DIR, RuntimeMeasurer, slotClaimsOf, softwareOf } from './measure.js';
import { qualifyingData } from './tpm/qualifying.js';
import type { TpmAttester } from './tpm/attester.js';
import { BINDING_LENGTH, EAT_PROFILE, MAX_NONCE_BYTES, MIN_NONCE_BYTES, type AttestInput, type Claims, type DeviceIdentity, type SlotClaims } from './types.js';
import { AttestErrorCode } from './errors.js';
import { StateError } from '../lib/errors.js';
import { OneAtATime } from '../lib/one-at-a-time.js';

const DT_MODEL = '/proc/device-tree/model';
const BOOT_ID = '/proc/sys/kernel/random/boot_id';

interface AttesterOptions {
  readonly provider: CryptoProvider;
  readonly cid: Uint8Array;
  readonly signer: Signer;
  /** What the config says that attestation needs (built by the gateway from its validated config). */
  readonly input: AttestInput;
  /** The installed bundle to measure (default: the one this code runs from). */
  readonly bundleDir?: string;
  /** The node executable to measure (default: the one running this process, process.execPath). */
  readonly runtimePath?: string;
  /** What a slot's device says about itself, when it can tell (Modbus 43/14). */
  readonly identityOf?: (slot: string) => Promise<DeviceIdentity | undefined>;
  /** Present when the attestation key lives in a TPM. */
  readonly tpm?: TpmAttester;
  readonly now?: () => number;
  /** Overrides for tests of the /proc inputs. */
  readonly dtModelPath?: string;
  readonly bootIdPath?: string;
}

function readTrimmed(path: string): string | undefined {
  try {
    // The device tree model is NUL-terminated; boot_id ends in a newline.
    const s = readFileSync(path, 'latin1').replace(/[\0\n\r]+$/g, '').trim();
    return s === '' ? undefined : s;
  } catch {
    return undefined;
  }
}

export class Attester {
  private readonly measurer: BundleMeasurer;
  private readonly runtime: RuntimeMeasurer;
  private readonly fixed: Omit<Claims, 'eat_nonce' | 'iat' | 'measurements' | 'binding' | 'submods'>;
  private readonly configDigest: Uint8Array;
  private readonly boardDigest: Uint8Array;
  private readonly slots: Record<string, SlotClaims>;
  private readonly bundleDir: string;
  private readonly oneAtATime = new OneAtATime();

  constructor(private readonly o: AttesterOptions) {
    const p = o.provider;
    this.bundleDir = o.bundleDir ?? RUNNING_BUNDLE_DIR;
    this.measurer = new BundleMeasurer(p, this.bundleDir);
    this.runtime = new RuntimeMeasurer(o.runtimePath ?? process.execPath);
    const board = o.input.board;
    this.configDigest = o.input.configDigest;
    this.boardDigest = boardDigest(p, board);
    this.slots = slotClaimsOf(o.input.slots);
    // RFC 9711 §4.2.11 bootseed: constant within one OS boot. Derived from the kernel's boot_id and
    // our CID so that it neither leaks the boot_id nor links two gateways on one host.
    const bootId = readTrimmed(o.bootIdPath ?? BOOT_ID);
    const bootseed = p.blake3(bootId !== undefined ? new Uint8Array([...utf8.encode('uzp-gw/1 bootseed '), ...utf8.encode(bootId), ...o.cid]) : p.randomBytes(32));
    const dtmodel = readTrimmed(o.dtModelPath ?? DT_MODEL);
    const sw = softwareOf(this.bundleDir);
    // A debugger attached (or allowed to attach) to this process can change anything it does.
    const inspect = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].some((a) => a.startsWith('--inspect'));
    this.fixed = {
      eat_profile: EAT_PROFILE,
      ueid: ueidOf(o.cid),
      oemid: oemidBytes(board.oemid),
      hwmodel: board.hwmodel,
      hwversion: board.hwversion,
      board: board.id,
      ...(dtmodel !== undefined ? { dtmodel: dtmodel.slice(0, 256) } : {}),
      swname: sw.swname,
      swversion: sw.swversion,
      dbgstat: o.input.debug || inspect ? 'enabled' : 'disabled',
      bootseed,
      key_origin: o.tpm !== undefined ? 'tpm' : 'software',
    };
  }

  get bundle(): string {
    return this.bundleDir;
  }

  /** Stops measuring: one in progress rejects with ABORTED (the gateway is stopping). */
  stop(): void {
    this.measurer.stop();
    this.runtime.stop();
  }

  /** Measures the bundle and the runtime once ahead of the first request (the first full hashes are the slow ones). */
  prime(): Promise<void> {
    return this.oneAtATime.run(async () => {
      await Promise.all([this.measurer.measure(), this.runtime.measure()]);
    });
  }

  /**
   * Evidence for a verifier's nonce, bound to a session when `binding` (an exporter value) is given.
   * One evidence at a time: measurements and TPM quotes are serialised.
   */
  evidence(nonce: Uint8Array, binding?: Uint8Array): Promise<Uint8Array> {
    if (nonce.length < MIN_NONCE_BYTES || nonce.length > MAX_NONCE_BYTES) {
      return Promise.reject(new StateError(AttestErrorCode.ATTEST_NONCE, `nonce of ${nonce.length} bytes; ${MIN_NONCE_BYTES}..${MAX_NONCE_BYTES} expected`));
    }
    if (binding !== undefined && binding.length !== BINDING_LENGTH) {
      return Promise.reject(new StateError(AttestErrorCode.ATTEST_BINDING, `binding of ${binding.length} bytes; ${BINDING_LENGTH} expected`));
    }
    return this.oneAtATime.run(() => this.build(nonce, binding));
  }

  private async submods(): Promise<Record<string, SlotClaims>> {
    const out: Record<string, SlotClaims> = {};
    await Promise.all(
      Object.entries(this.slots).map(async ([id, s]) => {
        let identity: DeviceIdentity | undefined;
        try {
          identity = await this.o.identityOf?.(id);
        } catch {
          identity = undefined; // a device that cannot answer now is reported without an identity
        }
        out[id] = identity !== undefined ? { ...s, identity } : s;
      }),
    );
    // Deterministic key order is the CBOR encoder's job; keep insertion order stable for JSON output too.
    return Object.fromEntries(Object.keys(this.slots).map((k) => [k, out[k]!]));
  }

  private async build(nonce: Uint8Array, binding: Uint8Array | undefined): Promise<Uint8Array> {
    const p = this.o.provider;
    const [bundle, lockfile, runtime, submods] = await Promise.all([this.measurer.measure(), lockfileDigest(p, this.bundleDir), this.runtime.measure(), this.submods()]);
    const claims: Claims = {
      ...this.fixed,
      eat_nonce: nonce,
      iat: Math.floor((this.o.now?.() ?? Date.now()) / 1000),
      measurements: { bundle, lockfile, node: process.version, runtime, config: this.configDigest, board: this.boardDigest },
      ...(binding !== undefined ? { binding } : {}),
      submods,
    };
    const tpm = this.o.tpm !== undefined ? await this.o.tpm.quote(qualifyingData(p, nonce, binding, claimsDigest(p, claims))) : undefined;
    return signEvidence(p, this.o.signer, claims, tpm);
  }
}
