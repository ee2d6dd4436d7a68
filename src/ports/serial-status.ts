// The shapes a SerialLink reports about its port: its state, the framing it was asked for, and
// what `uzpgw status` and the drivers' status() show (open errors, the settings read back).

export type SerialState = 'opening' | 'open' | 'waiting' | 'closed';

export interface SerialFraming {
  readonly baudRate: number;
  readonly dataBits?: 5 | 6 | 7 | 8;
  readonly parity?: 'none' | 'even' | 'odd';
  readonly stopBits?: 1 | 2;
}

/** What the gateway can say about one serial port (`uzpgw status`, the drivers' status()). */
export interface SerialPortStatus {
  readonly kind: 'serial';
  readonly path: string;
  readonly state: SerialState;
  /** How long the link has not been open, on its clock, in ms; null while open. */
  readonly downForMs: number | null;
  /** Why the latest open failed and what to check; null once the device opened. */
  readonly openError: { readonly code: string; readonly message: string; readonly check: string } | null;
  /** Open attempts that failed since the device was last open. */
  readonly failedOpens: number;
  /** The framing read back from the tty after the latest open. */
  readonly settings: SettingsCheck;
  /** Open, but not as configured (settings.check 'mismatch'). */
  readonly degraded: boolean;
}

export interface SettingsCheck {
  /** e.g. "19200 8E1" */
  readonly configured: string;
  /** 'pending' until the read-back finished; 'skipped' for PTYs and when verification is off; 'unknown' when stty failed. */
  readonly check: 'pending' | 'ok' | 'mismatch' | 'skipped' | 'unknown';
  readonly actual?: string;
  readonly differences?: readonly string[];
  readonly note?: string;
}
