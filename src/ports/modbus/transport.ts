// What the bus scheduler needs from a wire: one request/reply exchange at a time. RTU (over a
// SerialLink) and TCP implement it; the scheduler owns the bus lock, the queues and fairness.

import type { UnitStats } from './stats.js';

export interface Exchange {
  readonly unit: number;
  /** Request PDU: function code and data. */
  readonly pdu: Uint8Array;
  readonly timeoutMs: number;
  /** Where the transport counts what it drops while this request is in flight. */
  readonly stats: UnitStats;
  /** Called as the request goes to the wire (after any line-silence wait): response times start here. */
  readonly onSent?: (at: number) => void;
}

export interface ModbusTransport {
  /** For messages: `rtu /dev/ttyAMA0` or `tcp 10.0.0.5:502`. */
  readonly name: string;
  /** Highest unit id the wire can address (247 on RTU, 255 on TCP). */
  readonly maxUnit: number;
  /** Unit 0 is a broadcast that no slave answers (RTU, Modbus over Serial Line §2.2). */
  readonly broadcastUnit0: boolean;
  /** True when a request could be sent now. */
  readonly online: boolean;
  /**
   * Sends `x.pdu` to `x.unit` and resolves with the first reply that answers it (pdu.ts
   * replyMatches; exception replies included). Rejects with ModbusTimeoutError, ModbusCrcError,
   * ModbusOfflineError or PortIoError. Never called again before the previous call settled.
   * A broadcast resolves with an empty PDU after the turnaround delay.
   */
  exchange(x: Exchange): Promise<Uint8Array>;
  close(): Promise<void>;
}
