// The gateway's attestation service: builds the Attester from the running config, through the narrow
// AttestInput that `uzpgw flash` builds too (config/attest-input.ts), with a TPM-held attestation
// key when one is present; and asks slot devices who they are (Modbus 43/14).

import { dirname } from 'node:path';
import { Attester } from '../attest/attester.js';
import { readDeviceIdentity } from '../attest/device-id.js';
import { detectTpm } from '../attest/tpm/tools.js';
import type { TpmAttester } from '../attest/tpm/attester.js';
import type { DeviceIdentity } from '../attest/types.js';
import type { GatewayDevice } from '../hil-devices/index.js';
import type { CryptoProvider, Signer } from '../uzp/crypto/provider.js';
import { attestInputOf } from '../config/attest-input.js';
import { loadBoard } from '../config/boards.js';
import type { GatewayConfig } from '../config/types.js';
import { AttestErrorCode } from '../attest/errors.js';
import { LocalError } from '../lib/errors.js';

/** A device identity is asked for at most this often (devices rarely change; polls must not starve). */
const IDENTITY_TTL_MS = 60_000;
const IDENTITY_TIMEOUT_MS = 1_500;

interface AttestationSetup {
  readonly provider: CryptoProvider;
  readonly cid: Uint8Array;
  readonly signer: Signer;
  readonly config: GatewayConfig;
  readonly devices: ReadonlyMap<string, GatewayDevice>;
  /** Overrides the installed bundle directory (tests). */
  readonly bundleDir?: string;
}

/** Slot -> identity lookups with a cache, so a verifier's request costs at most one 43/14 per slot per minute. */
function identityLookup(config: GatewayConfig, devices: ReadonlyMap<string, GatewayDevice>): (slot: string) => Promise<DeviceIdentity | undefined> {
  const cache = new Map<string, { at: number; identity: DeviceIdentity | undefined }>();
  return async (slot) => {
    const cfg = config.slots.find((s) => s.id === slot)?.device;
    const device = devices.get(slot);
    if (cfg?.driver !== 'modbus-poller' || device?.kind !== 'modbus' || cfg.units.length === 0) return undefined;
    const hit = cache.get(slot);
    if (hit !== undefined && Date.now() - hit.at < IDENTITY_TTL_MS) return hit.identity;
    // The slot's first configured unit speaks for the slot (a multi-drop slot names its lead device).
    const unit = cfg.units[0]!.unit;
    const identity = await readDeviceIdentity((u, pdu) => device.request(u, pdu, { signal: AbortSignal.timeout(IDENTITY_TIMEOUT_MS) }), unit);
    cache.set(slot, { at: Date.now(), identity });
    return identity;
  };
}

/** Builds the Attester; with tpm "auto" a present TPM is used, with "required" its absence is an error. */
export async function createAttester(s: AttestationSetup): Promise<{ attester: Attester; tpm?: string; tpmError?: string }> {
  const mode = s.config.attestation.tpm;
  let tpm: TpmAttester | undefined;
  let tcti: string | undefined;
  let tpmError: string | undefined;
  if (mode !== 'off') {
    tcti = detectTpm({ ...(s.config.attestation.tcti !== undefined ? { tcti: s.config.attestation.tcti } : {}) });
    if (tcti === undefined && mode === 'required') {
      throw new LocalError(AttestErrorCode.TPM_UNAVAILABLE, 'attestation.tpm is "required" but no TPM was found (no /dev/tpmrm0 and no tcti configured)');
    }
    if (tcti !== undefined) {
      try {
        // Loaded only when a TPM is there: most gateways have none and never need its code.
        const { TpmAttester: Tpm } = await import('../attest/tpm/attester.js');
        // The AK's files live next to the identity key: the one state directory the service may write.
        tpm = await Tpm.open({ tcti, stateDir: dirname(s.config.identity.key) });
      } catch (e) {
        if (mode === 'required') throw e;
        tpmError = (e as Error).message; // auto: a TPM that does not work is reported, software attestation goes on
        tcti = undefined;
      }
    }
  }
  const attester = new Attester({
    provider: s.provider,
    cid: s.cid,
    signer: s.signer,
    input: attestInputOf(s.config, loadBoard(s.config.board), s.provider),
    identityOf: identityLookup(s.config, s.devices),
    ...(s.bundleDir !== undefined ? { bundleDir: s.bundleDir } : {}),
    ...(tpm !== undefined ? { tpm } : {}),
  });
  return { attester, ...(tcti !== undefined ? { tpm: tcti } : {}), ...(tpmError !== undefined ? { tpmError } : {}) };
}
