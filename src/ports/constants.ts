// Defaults for the equipment transports (serial, Modbus, MQTT), in one place as js-libp2p keeps
// its timeouts. Modbus wire constants (function codes, limits from the Modbus Application
// Protocol V1.1b3 and the Modbus over Serial Line V1.02 specs) are kept apart at the bottom.

// ---- reconnect (serial unplug, Modbus TCP peer restart, MQTT broker restart) ----

/** Capped exponential backoff with full jitter: delay = random(0, min(cap, base * 2^attempt)). */
export const PORT_BACKOFF_BASE_MS = 250;
export const PORT_BACKOFF_CAP_MS = 10_000;

// ---- serial ----

/**
 * Bytes a SerialLink holds for the device while it is unplugged, plus bytes handed to the OS
 * but not yet written while it is open. Beyond this a write is dropped (counted and logged),
 * never buffered without bound.
 */
export const SERIAL_MAX_QUEUED_BYTES = 64 * 1024;

// ---- Modbus ----

/** How long a slave has to answer one request. */
export const MODBUS_TIMEOUT_MS = 1_000;
/** Requests waiting per unit id; beyond this a request is refused at once (BUFFER_FULL). */
export const MODBUS_UNIT_QUEUE_MAX = 32;
/** After a broadcast (unit 0) no slave answers; the master waits this long before the next request. */
export const MODBUS_BROADCAST_TURNAROUND_MS = 100;
/**
 * Floor of the RTU inter-frame silence. The spec's t3.5 is 1.75 ms above 19200 baud, shorter
 * than Node's timer resolution and a USB adapter's latency timer (16 ms on FTDI by default),
 * so a partial frame is discarded only after this much silence; a complete frame is recognised
 * by its length first (see rtu-frame.ts), so the floor never delays a good reply.
 */
export const RTU_SILENCE_FLOOR_MS = 20;
/** Largest RTU ADU (Modbus over Serial Line §2.5.1.1) and largest Modbus TCP ADU (MBAP §4.1). */
export const RTU_MAX_ADU = 256;
export const TCP_MAX_ADU = 260;
/** Connect timeout for a Modbus TCP device. */
export const MODBUS_TCP_CONNECT_TIMEOUT_MS = 3_000;

// Modbus Application Protocol V1.1b3 §6: quantity limits per request.
export const MAX_READ_REGISTERS = 125;
export const MAX_READ_BITS = 2000;
export const MAX_WRITE_REGISTERS = 123;
export const MAX_WRITE_BITS = 1968;
/** §4.1: PDU at most 253 bytes (256-byte RTU ADU minus address and CRC). */
export const MAX_PDU = 253;

export const FunctionCode = {
  READ_COILS: 0x01,
  READ_DISCRETE_INPUTS: 0x02,
  READ_HOLDING_REGISTERS: 0x03,
  READ_INPUT_REGISTERS: 0x04,
  WRITE_SINGLE_COIL: 0x05,
  WRITE_SINGLE_REGISTER: 0x06,
  WRITE_MULTIPLE_COILS: 0x0f,
  WRITE_MULTIPLE_REGISTERS: 0x10,
} as const;

/** §7: exception codes (a reply PDU is fc | 0x80, code). */
export const ExceptionCode = {
  ILLEGAL_FUNCTION: 0x01,
  ILLEGAL_DATA_ADDRESS: 0x02,
  ILLEGAL_DATA_VALUE: 0x03,
  SERVER_DEVICE_FAILURE: 0x04,
  ACKNOWLEDGE: 0x05,
  SERVER_DEVICE_BUSY: 0x06,
  MEMORY_PARITY_ERROR: 0x08,
  GATEWAY_PATH_UNAVAILABLE: 0x0a,
  GATEWAY_TARGET_FAILED: 0x0b,
} as const;

// ---- MQTT ----

/** Publishes awaited at once (FIELD-NOTES: windows of awaited publishAsync, not callback bursts). */
export const MQTT_PUBLISH_WINDOW = 64;
/** Publishes waiting for a window slot; beyond this publish() is refused (BUFFER_FULL). */
export const MQTT_PUBLISH_QUEUE_MAX = 1_024;
/** Received messages held for the consumer; on overflow the oldest is dropped (DERP style). */
export const MQTT_RECEIVE_QUEUE_MAX = 1_024;
export const MQTT_CONNECT_TIMEOUT_MS = 5_000;
export const MQTT_KEEPALIVE_S = 30;
