// The virtual-serial HIL harness: one call builds a paced PTY line with a simulator behind it and
// returns the path the gateway (or a test) opens, plus the controls (faults, unplug/replug, the
// simulator itself). Everything made here is tracked and torn down by cleanupVirtualSerial() in an
// afterEach hook: ports closed, socat stopped by its pid, temporary directories removed.

import type { SerialPort } from 'serialport';
import { EchoDevice } from '../../src/sim/echo-device.js';
import { bitsPerChar, DEFAULT_FRAMING, type Framing } from '../../src/ports/line-timing.js';
import { LineSensor, type LineSensorOptions } from '../../src/sim/line-sensor.js';
import { ModbusRtuBus } from '../../src/sim/modbus-rtu-bus.js';
import { Mosquitto, type MosquittoOptions } from '../../src/sim/mosquitto.js';
import { MqttDevice, type MqttDeviceOptions } from '../../src/sim/mqtt-device.js';
import type { ModbusSlaveSpec } from '../../src/sim/modbus-slave.js';
import { closeSerial, openSerial } from '../../src/sim/serial-open.js';
import { VirtualLine, type VirtualLineOptions } from '../../src/sim/virtual-line.js';

type Closer = () => Promise<void> | void;
const closers: Closer[] = [];

function track(c: Closer): void {
  closers.push(c);
}

/** Tears down everything the harness made (newest first). Call it in afterEach. */
export async function cleanupVirtualSerial(): Promise<void> {
  for (const c of closers.splice(0).reverse()) await c();
}

/** Theoretical time for `bytes` characters on the line, in ms (bits per char / baud). */
export function lineTimeMs(bytes: number, baud: number, framing: Framing = DEFAULT_FRAMING): number {
  return (bytes * bitsPerChar(framing) * 1000) / baud;
}

/** A paced virtual line with nothing behind it yet (line.device is the far end). */
export async function virtualLine(opts: VirtualLineOptions): Promise<VirtualLine> {
  const line = await VirtualLine.open(opts);
  track(() => line.close());
  return line;
}

/** Opens `path` with the real serialport binding, as the gateway would; closed on cleanup. */
export async function openPort(path: string, baud: number): Promise<SerialPort> {
  const port = await openSerial(path, baud);
  port.on('error', () => {}); // hang-ups during unplug tests are expected
  track(() => closeSerial(port));
  return port;
}

export interface VirtualBusOptions {
  readonly baud: number;
  readonly framing?: Framing;
  readonly slaves: readonly ModbusSlaveSpec[];
  readonly strictFraming?: boolean;
  readonly seed?: number;
}

export interface VirtualBus {
  /** Open this with serialport / jsmodbus / modbus-serial: the RS-485 line as the gateway sees it. */
  readonly path: string;
  readonly line: VirtualLine;
  readonly bus: ModbusRtuBus;
}

/** A Modbus RTU multi-drop bus behind a paced virtual line. */
export async function virtualBus(opts: VirtualBusOptions): Promise<VirtualBus> {
  const line = await virtualLine({ baud: opts.baud, framing: opts.framing ?? DEFAULT_FRAMING });
  const bus = new ModbusRtuBus(line.device!, {
    baud: opts.baud,
    framing: opts.framing ?? DEFAULT_FRAMING,
    slaves: opts.slaves,
    ...(opts.strictFraming !== undefined ? { strictFraming: opts.strictFraming } : {}),
    ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
  });
  track(() => bus.close());
  return { path: line.path, line, bus };
}

/** A line-oriented sensor behind a paced virtual line. */
export async function virtualSensor(opts: { baud: number; framing?: Framing } & LineSensorOptions): Promise<{ path: string; line: VirtualLine; sensor: LineSensor }> {
  const line = await virtualLine({ baud: opts.baud, framing: opts.framing ?? DEFAULT_FRAMING });
  const sensor = new LineSensor(line.device!, opts);
  track(() => sensor.close());
  return { path: line.path, line, sensor };
}

/** A raw echo device behind a paced virtual line. */
export async function virtualEcho(opts: { baud: number; framing?: Framing }): Promise<{ path: string; line: VirtualLine; echo: EchoDevice }> {
  const line = await virtualLine({ baud: opts.baud, framing: opts.framing ?? DEFAULT_FRAMING });
  const echo = new EchoDevice(line.device!);
  track(() => echo.close());
  return { path: line.path, line, echo };
}

/** Polls `pred` every few ms until it holds; rejects after `timeoutMs` (a hang guard, never a timing assertion). */
export async function waitFor(pred: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!pred()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A real mosquitto on a free loopback port for this test; stopped by pid on cleanup. */
export async function mqttBroker(opts: MosquittoOptions = {}): Promise<Mosquitto> {
  const m = await Mosquitto.start(opts);
  track(() => m.stop());
  return m;
}

/** An MQTT machine publishing to `url`; disconnected on cleanup. */
export async function mqttMachine(opts: MqttDeviceOptions): Promise<MqttDevice> {
  const d = await MqttDevice.start(opts);
  track(() => d.stop());
  return d;
}
