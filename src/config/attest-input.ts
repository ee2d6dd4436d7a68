// The validated config as attestation sees it (src/attest takes this narrow input, never
// GatewayConfig). One function for both sides: the gateway's Attester and the reference manifest of
// `uzpgw flash` must build the same input from the same config, or a fresh flash does not appraise clean.

import { withoutCredentials } from '../attest/measure.js';
import type { AttestInput, SlotClaimInput } from '../attest/types.js';
import type { CryptoProvider } from '../uzp/crypto/provider.js';
import { configDigest } from './digest.js';
import type { Board, GatewayConfig, SlotConfig } from './types.js';

/** Where a slot's device is attached, as its claim says: the tty, the Modbus TCP peer or the MQTT broker. */
function slotPort(s: SlotConfig): string {
  const d = s.device;
  if (d.driver === 'mqtt-bridge') return withoutCredentials(d.broker);
  if (d.driver === 'modbus-poller' && d.transport.kind === 'tcp') return `tcp://${d.transport.host}:${d.transport.port}`;
  return s.port.path ?? s.port.id;
}

function slotClaimInputs(c: GatewayConfig): SlotClaimInput[] {
  return c.slots.map((s) => ({ id: s.id, device: s.device.id, driver: s.device.driver, port: slotPort(s) }));
}

/** `board` is the profile `c.board` names, as loaded (its file is measured). */
export function attestInputOf(c: GatewayConfig, board: Board, provider: CryptoProvider): AttestInput {
  return {
    configDigest: configDigest(c, provider),
    board: { file: board.file, id: board.id, oemid: board.oemid, hwmodel: board.hwmodel, hwversion: board.hwversion },
    slots: slotClaimInputs(c),
    debug: c.attestation.debug,
  };
}
