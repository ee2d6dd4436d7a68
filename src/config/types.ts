// Validated shapes of board profiles and the gateway config (docs/CONFIG.md documents the JSON).
// Values of these types come only out of the validators, so every field is known to be in range
// and every cross-reference (profile, port, slot) to resolve. Field names mirror what the ports
// layer takes (SerialFraming, Rs485Options in src/ports) so the composition root passes them on.

export const PORT_KINDS = ['uart', 'usb-serial', 'rs485', 'net'] as const;
export type PortKind = (typeof PORT_KINDS)[number];

export const DEVICE_KINDS = ['modbus-poller', 'serial-line', 'serial-raw', 'mqtt-bridge'] as const;
export type DeviceKind = (typeof DEVICE_KINDS)[number];

export const PARITIES = ['none', 'even', 'odd'] as const;
export type Parity = (typeof PARITIES)[number];

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
  readonly docs: string;
  readonly ports: readonly BoardPort[];
  readonly slots: readonly BoardSlot[];
}

export interface SerialParams {
  readonly baudRate: number;
  readonly dataBits: 7 | 8;
  readonly parity: Parity;
  readonly stopBits: 1 | 2;
}

export const TABLES = ['holding', 'input', 'coils', 'discrete'] as const;
export type Table = (typeof TABLES)[number];
export const VALUE_TYPES = ['int16', 'uint16', 'int32', 'uint32', 'float32', 'bool'] as const;
export type ValueType = (typeof VALUE_TYPES)[number];
export type Order = 'big' | 'little';

/** One named register (EdgeX-style device resource). */
export interface RegisterDef {
  readonly name: string;
  readonly table: Table;
  readonly address: number;
  /** Number of consecutive values of `type`. */
  readonly count: number;
  readonly type: ValueType;
  /** value = raw * scale + offset. */
  readonly scale: number;
  readonly offset: number;
  readonly unit?: string;
  /** Byte order inside each 16-bit register ('big' is the Modbus standard). */
  readonly byteOrder: Order;
  /** Register order of 32-bit values ('big': high word first). */
  readonly wordOrder: Order;
  readonly writable: boolean;
  /** Effective poll interval: register, else unit, else profile, else device default. */
  readonly pollIntervalMs: number;
  readonly description?: string;
}

/** A register as written in a profile or inline map: its own poll interval, if it has one. */
export type RegisterSpec = Omit<RegisterDef, 'pollIntervalMs'> & { readonly pollIntervalMs?: number };

export interface DeviceProfile {
  readonly name: string;
  readonly manufacturer?: string;
  readonly model?: string;
  readonly description?: string;
  readonly pollIntervalMs?: number;
  readonly registers: readonly RegisterSpec[];
}

export interface ModbusUnit {
  readonly unit: number;
  readonly name?: string;
  /** The device profile the registers come from, when not inline. */
  readonly profile?: string;
  readonly registers: readonly RegisterDef[];
  readonly timeoutMs: number;
}

export type ModbusTransport =
  | { readonly kind: 'rtu'; readonly serial: SerialParams }
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number };

interface DeviceBase {
  readonly id: string;
  readonly description?: string;
}

export interface ModbusPollerDevice extends DeviceBase {
  readonly driver: 'modbus-poller';
  readonly transport: ModbusTransport;
  readonly timeoutMs: number;
  readonly pollIntervalMs: number;
  /** Bounded per-unit request queue. */
  readonly queueLimit: number;
  readonly units: readonly ModbusUnit[];
}

export interface SerialLineDevice extends DeviceBase {
  readonly driver: 'serial-line';
  readonly serial: SerialParams;
  readonly delimiter: string;
  readonly maxLineBytes: number;
  readonly encoding: 'utf8' | 'latin1';
}

export interface SerialRawDevice extends DeviceBase {
  readonly driver: 'serial-raw';
  readonly serial: SerialParams;
  /** Bytes held toward operators before the oldest are dropped. */
  readonly maxBufferBytes: number;
  /** A read chunk is handed on after this much line silence. */
  readonly idleFlushMs: number;
}

export interface MqttBridgeDevice extends DeviceBase {
  readonly driver: 'mqtt-bridge';
  readonly broker: string;
  readonly clientId?: string;
  readonly username?: string;
  readonly passwordFile?: string;
  readonly caFile?: string;
  /** Filters bridged from the equipment broker to operators. */
  readonly subscribe: readonly string[];
  /** Filters operators may publish to on the equipment broker. */
  readonly publish: readonly string[];
  readonly qos: 0 | 1 | 2;
  readonly maxInflight: number;
  readonly maxQueue: number;
  readonly maxPayloadBytes: number;
  readonly keepaliveS: number;
}

export type DeviceConfig = ModbusPollerDevice | SerialLineDevice | SerialRawDevice | MqttBridgeDevice;

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

export interface GatewayConfig {
  /** Absolute path of the config file; relative paths inside it were resolved against its directory. */
  readonly file: string;
  readonly dir: string;
  /** Optional human name of the gateway (logs, `slots check`). */
  readonly name?: string;
  readonly identity: { readonly key: string; readonly pcert: string };
  readonly trust: { readonly anchor: string; readonly rnSet: string; readonly revocations: readonly string[] };
  readonly board: string;
  readonly virtualDir?: string;
  readonly audit: AuditConfig;
  readonly attestation: AttestationConfig;
  readonly deviceProfiles: readonly DeviceProfile[];
  readonly slots: readonly SlotConfig[];
}

/** 16-bit registers (or bits, for coils and discrete inputs) one value of `type` occupies. */
export function widthOf(type: ValueType): 1 | 2 {
  return type === 'int32' || type === 'uint32' || type === 'float32' ? 2 : 1;
}

/** Registers (or bits) a register definition spans: count x width. */
export function spanOf(r: Pick<RegisterDef, 'type' | 'count'>): number {
  return r.count * widthOf(r.type);
}
