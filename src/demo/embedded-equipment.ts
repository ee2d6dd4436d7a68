// The demo's fallback when socat is missing (no PTYs, so nothing another process could open by
// path): the gateway process itself hosts the demo's serial simulators, each behind a baud-paced
// in-memory line, and its SerialLinks open those lines through a port factory instead of a tty.
//
//   SerialLink --MemoryPort--> memory end ==== PacedRelay (line rate, 8E1 / 8N1) ==== memory end --> simulator
//
// Everything above the serial port is unchanged (Modbus RTU master with its unit-id and CRC checks,
// RTU framing by silence, the drivers, the HIL broker, the UZP endpoint); what is lost is the tty
// itself (termios, hang-ups). Used only by `uzpgw demo gateway` on the `virtual` board.

import { EventEmitter } from 'node:events';
import type { PortFactory, SerialPortLike } from '../ports/serial-port-like.js';
import { memorySerialPair, type MemorySerialEnd } from '../sim/memory-serial.js';
import { PacedRelay } from '../sim/pacer.js';
import { SERIAL_SLOTS, startSerialSimulator, type Simulator } from './equipment.js';

type Cb = (err: Error | null | undefined) => void;

/** A SerialPortLike over one end of a memory line; each open() makes a fresh object, as serialport does. */
class MemoryPort extends EventEmitter implements SerialPortLike {
  private open_ = false;
  private readonly onData = (chunk: Buffer): void => void this.emit('data', chunk);

  constructor(private readonly end: MemorySerialEnd) {
    super();
  }

  get isOpen(): boolean {
    return this.open_;
  }

  open(cb: Cb): void {
    this.open_ = true;
    this.end.on('data', this.onData);
    setImmediate(() => cb(null));
  }

  close(cb?: Cb): void {
    if (this.open_) {
      this.open_ = false;
      this.end.off('data', this.onData);
      setImmediate(() => this.emit('close', null));
    }
    if (cb) setImmediate(() => cb(null));
  }

  write(data: Buffer, cb: Cb): boolean {
    if (!this.open_) {
      setImmediate(() => cb(new Error('port is not open')));
      return false;
    }
    this.end.write(data);
    setImmediate(() => cb(null));
    return true;
  }

  drain(cb: Cb): void {
    setImmediate(() => cb(null));
  }

  /** Modem lines mean nothing on a memory line; accepted like a PTY that ignores them. */
  set(_opts: { rts?: boolean; dtr?: boolean; lowLatency?: boolean }, cb: Cb): void {
    setImmediate(() => cb(null));
  }
}

interface EmbeddedEquipment {
  /** The port factory for a slot's SerialLink, or undefined for slots the demo does not simulate. */
  factoryFor(slot: string): PortFactory | undefined;
  close(): void;
}

/** Builds the paced memory lines and starts the demo's serial simulators in this process. */
export function startEmbeddedEquipment(): EmbeddedEquipment {
  const factories = new Map<string, PortFactory>();
  const closers: (() => void)[] = [];
  for (const s of SERIAL_SLOTS) {
    const [gatewayEnd, relayA] = memorySerialPair(`${s.slot}-gateway`);
    const [relayB, deviceEnd] = memorySerialPair(`${s.slot}-device`);
    const relay = new PacedRelay({ baud: s.baud, framing: s.framing }, relayA, relayB);
    const sim: Simulator = startSerialSimulator(s, deviceEnd);
    factories.set(s.slot, () => new MemoryPort(gatewayEnd));
    closers.push(() => {
      sim.close();
      relay.close();
      gatewayEnd.close();
      deviceEnd.close();
    });
  }
  return {
    factoryFor: (slot) => factories.get(slot),
    close: () => {
      for (const c of closers) c();
    },
  };
}
