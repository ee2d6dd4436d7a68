// The equipment side of the HIL benches, in its own process (as real equipment is its own
// hardware): baud-paced virtual lines (dist/sim VirtualLine = socat PTY pair + PacedRelay) with
// simulators behind them, and MQTT machines. Driven over IPC with the protocol of peer.mjs
// ({id, cmd, args} -> {re, ok, result|error}; {event:'ready'} once at start).
//
// Commands:
//   modbusBus {dir, names[], baud, framing?, slaves:[{unit, holding}]}
//       One simulated RTU bus (dist/sim ModbusRtuBus: slaves answer only their own unit id)
//       reachable from one PTY path per name ({dir}/{name}). With several names the bus sits
//       behind a switch: every line's bytes reach the bus, and the bus's replies go to the line
//       that sent the last request, i.e. one bus with several masters that take turns (the
//       latency bench: the gateway and a direct master on the same slaves, never at once).
//   sensor {dir, name, baud, id, intervalMs}   a line-oriented sensor (dist/sim LineSensor)
//   mqttDevices {url, bases[], intervalMs}     MQTT machines publishing telemetry (dist/sim MqttDevice)
//   stats                                      bus and relay counters
//   tcpEcho {address}                          connects to a TCP relay (relay.mjs) and echoes every byte back
//                                              (modbus-latency's floor diagnostic: plain node:net hops)
// Everything is closed (socat stopped by its pid inside VirtualLine.close) on SIGTERM, SIGINT or
// when the parent's IPC channel closes, then the process exits 0. Line commands return the socat
// pids, so the bench can still stop them by pid if this process is SIGKILLed (see hil.mjs).

import { connect } from 'node:net';
import { parseAddress } from '../../dist/uzp/link/address.js';
import { LineSensor } from '../../dist/sim/line-sensor.js';
import { counter, drift, toWord } from '../../dist/sim/live-values.js';
import { ModbusRtuBus } from '../../dist/sim/modbus-rtu-bus.js';
import { MqttDevice } from '../../dist/sim/mqtt-device.js';
import { VirtualLine } from '../../dist/sim/virtual-line.js';
import { preciseClock } from '../../dist/sim/precise-clock.js';

const send = (m) => process.send?.(m);
const closers = [];
const buses = [];
const lines = [];

/** Live holding registers: a counter, a drifting value and constants, so every poll reads fresh data. */
function holdingRegisters(unit, n) {
  const c = counter({ periodMs: 100 });
  const d = drift({ base: 200 + unit, amplitude: 50, periodMs: 60_000 });
  return Array.from({ length: n }, (_, i) => (i === 0 ? (now) => toWord(c(now)) : i === 1 ? (now) => toWord(d(now)) : unit * 1000 + i));
}

/** Several byte duplexes seen as one: reads merged, writes to whoever spoke last. */
function busSwitch(ends) {
  let last = ends[0];
  const taps = new Map();
  return {
    write: (chunk) => last.write(chunk),
    on(event, listener) {
      const per = ends.map((end) => {
        const l = (chunk) => {
          last = end;
          listener(chunk);
        };
        end.on(event, l);
        return [end, l];
      });
      taps.set(listener, per);
    },
    off(event, listener) {
      for (const [end, l] of taps.get(listener) ?? []) end.off(event, l);
      taps.delete(listener);
    },
  };
}

async function openLine(dir, name, baud, framing, batchMs = 0) {
  // Sub-millisecond pacing and slave timing, as real UARTs and slaves have (src/sim/precise-clock.ts).
  // batchMs > 0: bytes in batches at least that far apart, each burst's last byte on time, as from a
  // UART FIFO or an FTDI adapter at the 1 ms latency timer the gateway sets (src/sim/pacer.ts); the
  // 16-slot bench uses 1 so that four processes do not wake once per character of 16 buses.
  const line = await VirtualLine.open({ dir, name, baud, clock: preciseClock, batchMs, ...(framing ? { framing } : {}) });
  closers.push(() => line.close());
  lines.push({ name, line });
  return line;
}

const commands = {
  async modbusBus({ dir, names, baud, framing, slaves, batchMs }) {
    const opened = [];
    for (const name of names) opened.push(await openLine(dir, name, baud, framing, batchMs));
    const duplex = opened.length === 1 ? opened[0].device : busSwitch(opened.map((l) => l.device));
    const bus = new ModbusRtuBus(duplex, {
      baud,
      clock: preciseClock,
      ...(framing ? { framing } : {}),
      slaves: slaves.map((s) => ({ unit: s.unit, holdingRegisters: holdingRegisters(s.unit, s.holding) })),
    });
    closers.push(() => bus.close());
    buses.push({ dir, names, bus });
    return { paths: opened.map((l) => l.path), pids: opened.flatMap((l) => l.pids) };
  },

  async sensor({ dir, name, baud, id, intervalMs }) {
    const line = await openLine(dir, name, baud);
    const sensor = new LineSensor(line.device, { id, intervalMs });
    closers.push(() => sensor.close());
    return { path: line.path, pids: line.pids };
  },

  async mqttDevices({ url, bases, intervalMs }) {
    for (const base of bases) {
      const dev = await MqttDevice.start({ url, base, intervalMs, qos: 0 });
      closers.push(() => dev.stop());
    }
    return { devices: bases.length };
  },

  async tcpEcho({ address }) {
    const sock = connect({ ...parseAddress(address), noDelay: true });
    await new Promise((resolve, reject) => sock.once('connect', resolve).once('error', reject));
    sock.on('data', (d) => sock.write(d));
    sock.on('error', () => sock.destroy());
    closers.push(() => sock.destroy());
    return {};
  },

  async stats() {
    return {
      buses: buses.map((b) => ({ dir: b.dir, names: b.names, ...b.bus.stats })),
      lines: lines.map((l) => ({ name: l.name, toDevice: l.line.relay.stats('aToB'), toMaster: l.line.relay.stats('bToA') })),
    };
  },
};

process.on('message', async (m) => {
  if (!m || typeof m.id !== 'number') return;
  const fn = commands[m.cmd];
  try {
    if (!fn) throw new Error(`unknown command ${m.cmd}`);
    send({ re: m.id, ok: true, result: await fn(m.args ?? {}) });
  } catch (e) {
    send({ re: m.id, ok: false, error: String(e?.stack ?? e) });
  }
});

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  for (const c of closers.reverse()) await Promise.resolve(c()).catch(() => {});
  process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.on('disconnect', stop);
send({ event: 'ready' });
