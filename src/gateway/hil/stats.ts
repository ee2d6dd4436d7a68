// Counters of the HIL broker, shared by its parts (session authority, channel router, evidence
// service) and read by the gateway's status lines.

export interface BrokerStats {
  /** Sessions being served now. */
  sessions: number;
  /** Channels open now. */
  channels: number;
  /** Refusals since start (frames, opens, requests, attestation). */
  refusals: number;
  /** Readings a tail channel dropped because the session's send buffer was full. */
  readingsDropped: number;
}
