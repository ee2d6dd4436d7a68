// Every code a gateway may put in a HIL `refused` message or an audit line's decision, in one union
// (docs/PROFILE.md §HIL protocol). The code says *what* was refused; the reason stays in the
// gateway's audit log (a peer never learns why, STYLE §3). Receivers must accept codes they do
// not know: the wire type keeps `code` a string so a newer gateway can add one.

export const REFUSAL_CODES = [
  // Grant authority (draft §4.3): the gateway never generalises a slot's authority
  'SLOT_NOT_GRANTED',
  'DEVICE_NOT_GRANTED',
  'PURPOSE_NOT_GRANTED',
  'UNIT_NOT_GRANTED',
  'REGISTER_OUT_OF_RANGE',
  'TOPIC_OUT_OF_FILTER',
  'BAD_TOPIC',
  // channel protocol
  'NOT_OPEN',
  'BAD_MESSAGE',
  'UNEXPECTED_MESSAGE',
  'SLOT_UNAVAILABLE',
  'MODE_NOT_SUPPORTED',
  'ILLEGAL_REQUEST',
  'BUSY',
  'TOO_MANY_SUBSCRIPTIONS',
  'DEVICE_ERROR',
  // the slot's port is down (device missing, unopenable, unplugged): nothing was sent
  'DEVICE_UNAVAILABLE',
  'ATTEST_UNAVAILABLE',
  // tail from_seq on a gateway that keeps no reading log
  'HISTORY_UNAVAILABLE',
  // sent as early data (0-RTT) but not safe to replay: send it again after the handshake (draft §9)
  'EARLY_DATA_REFUSED',
  // a session beyond its operator's cap (sessions.per_operator): answered on its first channel, then closed
  'TOO_MANY_SESSIONS',
  // session ends (audit only)
  'GRANT_EXPIRED',
  'REVOKED',
  // more refused or malformed messages than the operator's budget allows, all its sessions together (gateway/hil/operator-budgets.ts)
  'TOO_MANY_REFUSALS',
] as const;

export type RefusalCode = (typeof REFUSAL_CODES)[number];

/**
 * A device's own codes the gateway passes through in `refused` when the device refuses what the
 * Grant allowed (PROFILE.md §HIL, "a device's own code"; gateway/hil/modes.ts): the MQTT bridge's
 * filters. Other device errors reach the operator as DEVICE_ERROR. Listed so tools (the `hil run`
 * scenario check) know them.
 */
export const DEVICE_REFUSAL_CODES = ['TOPIC_NOT_BRIDGED'] as const;
