// Counters of the HIL broker, shared by its parts (session authority, channel router, evidence
// service) and read by the gateway's status lines.

export interface BrokerStats {
  /** Sessions being served now. */
  sessions: number;
  /** Channels open now. */
  channels: number;
  /** Refusals since start (frames, opens, requests, attestation). */
  refusals: number;
  /**
   * What channels dropped because the session's send buffer was full, or because it was over the
   * session's message bound: readings (tail), serial bytes (serial) and MQTT messages (mqtt).
   */
  readingsDropped: number;
}
