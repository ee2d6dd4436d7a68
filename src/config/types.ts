// Validated shapes of board profiles and the gateway config (docs/CONFIG.md documents the JSON).
// Values of these types come only out of the validators, so every field is known to be in range
// and every cross-reference (profile, port, slot) to resolve. Field names mirror what the ports
// layer takes (SerialFraming, Rs485Options in src/ports) so the composition root passes them on.

import type { DeviceConfig, DeviceKind, DeviceProfile, Parity } from '../hil-devices/config.js';

// Device shapes are the drivers' own (src/hil-devices/config.ts); the config schema builds them.
export { DEVICE_KINDS, PARITIES, TABLES, TCP_UNIT_0_MODES, VALUE_TYPES, widthOf, spanOf } from '../hil-devices/config.js';
export type { DeviceKind, Parity, TcpUnit0Mode, SerialParams, Table, ValueType, Order, RegisterDef, RegisterSpec, DeviceProfile, ModbusUnit, ModbusTransport, ModbusPollerDevice, SerialLineDevice, SerialRawDevice, MqttBridgeDevice, DeviceConfig } from '../hil-devices/config.js';

export const PORT_KINDS = ['uart', 'usb-serial', 'rs485', 'net'] as const;
type PortKind = (typeof PORT_KINDS)[number];


export type Rs485Control =
  | { readonly direction: 'none' }
  /** The transceiver switches direction itself (auto-direction chips, most USB-RS485 adapters). */
  | { readonly direction: 'auto' }
  /** Driver enable on the UART's RTS line, asserted around each frame. */
  | { readonly direction: 'rts'; readonly rtsActiveLow: boolean; readonly delayBeforeSendMs: number; readonly delayAfterSendMs: number };

export interface BoardPort {
  readonly id: string;
  readonly kind: PortKind;
  /** Default device path; may start with `{virtual_dir}/` on the virtual board; absent when the config must name it. */
  readonly device?: string;
  /** Other names of the same device (e.g. /dev/serial0). */
  readonly aliases: readonly string[];
  /** Patterns a slot's `port_path` may use instead of `device` (USB adapters: /dev/serial/by-id/*). */
  readonly deviceGlob: readonly string[];
  /** Network interface (net ports). */
  readonly iface?: string;
  readonly bauds: readonly number[];
  readonly dataBits: readonly (7 | 8)[];
  readonly parities: readonly Parity[];
  readonly stopBits: readonly (1 | 2)[];
  readonly rs485: Rs485Control;
  /** SoC GPIO numbers the port uses; two ports sharing a pin cannot both be configured. */
  readonly pins: readonly number[];
  /** The config.txt line(s) that enable the port, or how the port appears. */
  readonly docs: string;
  readonly notes?: string;
}

export interface BoardSlot {
  readonly id: string;
  readonly port: string;
  readonly kinds: readonly DeviceKind[];
  readonly label?: string;
}

/**
 * CPU architectures a board's userland can be, in Node's process.arch names: x64, arm64 (aarch64) and
 * arm (32-bit ARM, armv6l/armv7l). Node 24 ships official builds for x64 and arm64 only.
 */
export const BOARD_ARCHES = ['x64', 'arm64', 'arm'] as const;
export type BoardArch = (typeof BOARD_ARCHES)[number];

export interface Board {
  /** The board file this came from. */
  readonly file: string;
  readonly id: string;
  readonly name: string;
  readonly summary: string;
  /** RFC 9711 §4.2.3 oemid: 6 hex digits (IEEE OUI) or 32 hex digits (random). */
  readonly oemid: string;
  /** RFC 9711 §4.2.4 hwmodel (at most 32 bytes of UTF-8). */
  readonly hwmodel: string;
  /** RFC 9711 §4.2.5 hwversion, multipartnumeric (e.g. "1.5"). */
  readonly hwversion: string;
  /** Userlands the board can run, preferred first (a Pi 4 runs arm64 and 32-bit arm OS images). */
  readonly arch: readonly BoardArch[];
  readonly docs: string;
  readonly ports: readonly BoardPort[];
  readonly slots: readonly BoardSlot[];
}


/** The board port a slot uses, with its device path resolved for this config. */
export interface ResolvedPort {
  readonly id: string;
  readonly kind: PortKind;
  /** Absolute device path (serial ports); undefined for net ports. */
  readonly path?: string;
  readonly rs485: Rs485Control;
}

export interface SlotConfig {
  readonly id: string;
  readonly label?: string;
  /** `port_path` as resolved (absolute), when the config overrides the board's device path. */
  readonly portPath?: string;
  readonly port: ResolvedPort;
  readonly device: DeviceConfig;
}

export const AUDIT_LEVELS = ['debug', 'info', 'warn', 'error'] as const;

export interface AuditConfig {
  /** Absolute path of the audit log file; undefined: JSON lines on stdout (journald). */
  readonly file?: string;
  readonly level: (typeof AUDIT_LEVELS)[number];
}

export const TPM_MODES = ['auto', 'off', 'required'] as const;

/** How the gateway attests (docs/CONFIG.md "attestation"). */
export interface AttestationConfig {
  /** auto: use a TPM when one is present; off: never; required: refuse to start without one. */
  readonly tpm: (typeof TPM_MODES)[number];
  /** TCTI of the TPM (default device:/dev/tpmrm0 when it exists). */
  readonly tcti?: string;
  /** Development mode: evidence states dbgstat "enabled" (a strict verifier refuses it). */
  readonly debug: boolean;
}

export const DURABILITIES = ['full', 'batch', 'off'] as const;
export type Durability = (typeof DURABILITIES)[number];

/** The gateway's reading log (docs/CONFIG.md "reading_log"; gateway/reading-log). */
export interface ReadingLogConfig {
  /** Absolute path of the SQLite file; default readings.db next to the identity key. */
  readonly file?: string;
  readonly durability: Durability;
  readonly batchMs: number;
  readonly maxBytes: number;
}

/** One collector the gateway publishes to (OI §7-§11; docs/CONFIG.md "publish"). */
export interface CollectorConfig {
  /** The collector's CID (32 bytes). */
  readonly cid: Uint8Array;
  /** Pantheon Grant (subject = this gateway, audience = the collector, purpose telemetry.publish). */
  readonly grant: string;
  /** The Discovery Grant this gateway signed for the collector (`uzpgw publish grant`). */
  readonly discoveryGrant: string;
}

export interface PublishConfig {
  readonly collectors: readonly CollectorConfig[];
  /** Discovery revocations this gateway signed (`uzpgw publish revoke`); watched while running. */
  readonly revocations?: string;
}

export interface GatewayConfig {
  /** Absolute path of the config file; relative paths inside it were resolved against its directory. */
  readonly file: string;
  readonly dir: string;
  /** Optional human name of the gateway (logs, `slots check`). */
  readonly name?: string;
  readonly identity: { readonly key: string; readonly pcert: string };
  readonly trust: { readonly anchor: string; readonly rnSet: string; readonly revocations: readonly string[] };
  /** RNs kept attached at once (warm standby, draft §11.1); default 2. Optional for configs built in code. */
  readonly rnLinks?: number;
  /** `sessions.per_operator`: sessions one operator may hold at once (gateway/hil/session-cap.ts); absent: its default. */
  readonly sessionsPerOperator?: number;
  /** Absent in configs built in code: defaults (gateway/reading-log). */
  readonly readingLog?: ReadingLogConfig;
  /** Absent: the gateway publishes to no collector. */
  readonly publish?: PublishConfig;
  readonly board: string;
  readonly virtualDir?: string;
  readonly audit: AuditConfig;
  readonly attestation: AttestationConfig;
  readonly deviceProfiles: readonly DeviceProfile[];
  readonly slots: readonly SlotConfig[];
}
