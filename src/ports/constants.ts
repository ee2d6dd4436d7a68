// Defaults for the equipment transports (serial, Modbus, MQTT), in one place as js-libp2p keeps
// its timeouts. The Modbus wire vocabulary (function and exception codes, tables, protocol limits)
// is spec, not a default: it lives apart, in modbus/vocabulary.ts.

// ---- reconnect (serial unplug, Modbus TCP peer restart, MQTT broker restart) ----

/** Capped exponential backoff with full jitter: delay = random(0, min(cap, base * 2^attempt)). */
export const PORT_BACKOFF_BASE_MS = 250;
export const PORT_BACKOFF_CAP_MS = 10_000;
/**
 * While connections end soon after they open (reconnect-pacer.ts: up less than the backoff cap),
 * their opened / lost lines are held to one per this interval, the rest folded into a count.
 */
export const PORT_FLAP_LOG_QUIET_MS = 60_000;

// ---- serial ----

/**
 * Bytes a SerialLink holds for the device while it is unplugged, plus bytes handed to the OS
 * but not yet written while it is open. Beyond this a write is dropped (counted and logged),
 * never buffered without bound.
 */
export const SERIAL_MAX_QUEUED_BYTES = 64 * 1024;
/**
 * Size of the buffer a serial port reads into (@serialport/stream's highWaterMark, 64 KiB by
 * default). Each port keeps one, and every chunk read is a slice that holds its whole buffer alive
 * until consumed: 12 serial slots kept 768 KiB of pools (a heap snapshot of the 16-slot gateway).
 * A tty read returns at most what the line discipline holds (4 KiB on Linux), so with 4 KiB
 * reads are neither smaller nor more frequent than with 64.
 */
export const SERIAL_READ_BUFFER_BYTES = 4 * 1024;
/**
 * A configured serial device that cannot be opened is logged at error level once when the outage
 * starts, then reminded at this interval while it lasts (a journal shows it without flooding).
 */
export const SERIAL_DOWN_REMINDER_MS = 60_000;

// ---- Modbus ----

/** How long a slave has to answer one request. */
export const MODBUS_TIMEOUT_MS = 1_000;
/** Requests waiting per unit id; beyond this a request is refused at once (BUFFER_FULL). */
export const MODBUS_UNIT_QUEUE_MAX = 32;
/** A unit is silent (dead) after this many consecutive requests drew no reply (timeouts). */
export const MODBUS_SILENT_AFTER_TIMEOUTS = 2;
/**
 * An operator request to a silent unit is answered at once (no wire time) while something tried
 * the unit within this long; after that, the next request goes to the wire as a probe.
 */
export const MODBUS_SILENT_REPROBE_MS = 10_000;
/** After a broadcast (unit 0) no slave answers; the master waits this long before the next request. */
export const MODBUS_BROADCAST_TURNAROUND_MS = 100;
/** Connect timeout for a Modbus TCP device. */
export const MODBUS_TCP_CONNECT_TIMEOUT_MS = 3_000;

// ---- MQTT ----

/** Publishes awaited at once (FIELD-NOTES: windows of awaited publishAsync, not callback bursts). */
export const MQTT_PUBLISH_WINDOW = 64;
/** Publishes waiting for a window slot; beyond this publish() is refused (BUFFER_FULL). */
export const MQTT_PUBLISH_QUEUE_MAX = 1_024;
/** Received messages held for the consumer; on overflow the oldest is dropped (DERP style). */
export const MQTT_RECEIVE_QUEUE_MAX = 1_024;
/**
 * Bytes (payload and topic) of the received messages held for the consumer, the oldest dropped
 * beyond it as for the count. The count alone allowed count x max payload: 1,000 messages of a
 * 256 KiB max_payload_bytes are 256 MB on a gateway with 1-4 GB. 16 MiB holds 256 messages of the
 * default 64 KiB bound, and any number of small ones up to the count. Messages owed a held ack
 * count too and are kept within it by backpressure, not dropped (mqtt-receive.ts).
 */
export const MQTT_RECEIVE_QUEUE_MAX_BYTES = 16 * 1024 * 1024;
export const MQTT_CONNECT_TIMEOUT_MS = 5_000;
export const MQTT_KEEPALIVE_S = 30;
