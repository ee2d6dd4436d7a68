// The HIL broker in front of a real Modbus RTU bus: operator sessions over in-memory stitches
// (session-pair.ts), a ModbusPoller on a ModbusBus on the real serialport binding over a paced PTY
// line to a simulated slave (virtual-serial harness). For the tests of what reaches the slave and
// when: after a session's end, and between operators sharing a unit.

import { Writable } from 'node:stream';
import type { ModbusPollerDevice } from '../../../src/config/types.js';
import { AuditLog } from '../../../src/gateway/hil/audit.js';
import { HilBroker } from '../../../src/gateway/hil/broker.js';
import { decodeHil, encodeHil, type HilMessage } from '../../../src/hil/messages.js';
import { ModbusPoller } from '../../../src/hil-devices/modbus-poller.js';
import type { Clock } from '../../../src/lib/clock.js';
import { ModbusBus } from '../../../src/ports/modbus/bus.js';
import { SerialLink } from '../../../src/ports/serial.js';
import type { ModbusSlave } from '../../../src/sim/modbus-slave.js';
import type { Purpose } from '../../../src/uzp/artefacts/types.js';
import type { Channel } from '../../../src/uzp/session/channel.js';
import type { Session } from '../../../src/uzp/session/session.js';
import { sessionPair } from '../../helpers/session-pair.js';
import { virtualBus, waitFor } from '../../virtual-serial/harness.js';

export const SLOT = 'rs485-1';
const BAUD = 115_200;

export interface Rig {
  readonly broker: HilBroker;
  readonly bus: ModbusBus;
  readonly slave: ModbusSlave;
  readonly audit: Record<string, unknown>[];
  /** A new operator (its own domain and CID) with a session served under a Grant of `purposes` on SLOT. */
  session(purposes: Purpose[], now?: (grant: { expiresAt: number }) => () => number): Operator;
  /** Resolves once every request the bus took before this call has left the wire (one request at a time). */
  drained(): Promise<void>;
  close(): Promise<void>;
}

export interface Operator {
  readonly operator: Session;
  readonly gateway: Session;
  /** Opens a modbus channel on SLOT and waits for `opened`. */
  modbus(): Promise<ModbusChannel>;
}

export interface ModbusChannel {
  readonly ch: Channel;
  /** Every `res` received, in order. */
  readonly replies: Extract<HilMessage, { t: 'res' }>[];
  send(m: HilMessage): void;
}

/** `clock`: the broker's (Grant expiry); sessions and the bus run on real time. */
export async function modbusBrokerRig(o: { clock: Clock; slaveDelayMs: number }): Promise<Rig> {
  const vb = await virtualBus({ baud: BAUD, slaves: [{ unit: 1, holdingRegisters: new Array<number>(100).fill(0), faults: { delayMs: o.slaveDelayMs } }] });
  const link = new SerialLink({ path: vb.path, baudRate: BAUD, backoff: { baseMs: 20, capMs: 200 } }).start();
  await link.whenOpen();
  const bus = ModbusBus.rtu(link, { timeoutMs: 2000 });
  const cfg: ModbusPollerDevice = { id: 'plc-7', driver: 'modbus-poller', transport: { kind: 'rtu', serial: { baudRate: BAUD, dataBits: 8, parity: 'none', stopBits: 1 } }, timeoutMs: 2000, pollIntervalMs: 1000, queueLimit: 16, units: [] };
  const poller = new ModbusPoller(SLOT, cfg, bus);
  const audit: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      audit.push(JSON.parse(String(chunk)));
      cb();
    },
  });
  const broker = new HilBroker({ devices: new Map([[SLOT, poller]]), audit: AuditLog.create(sink), clock: o.clock });
  const sessions: Session[] = [];
  return {
    broker,
    bus,
    slave: vb.bus.slave(1),
    audit,
    session(purposes, now) {
      const p = sessionPair({ purposes, slot: SLOT });
      broker.serve(p.gateway, p.grant, now ? now(p.grant) : p.d.clock);
      sessions.push(p.operator);
      return {
        operator: p.operator,
        gateway: p.gateway,
        async modbus() {
          const ch = p.operator.openChannel();
          const replies: Extract<HilMessage, { t: 'res' }>[] = [];
          const opened = new Promise<void>((resolve, reject) => {
            ch.on('message', (b: Uint8Array) => {
              const m = decodeHil(b);
              if (m.t === 'opened') resolve();
              else if (m.t === 'res') replies.push(m);
              else reject(new Error(`unexpected ${JSON.stringify(m)}`));
            });
          });
          ch.trySend(encodeHil({ t: 'open', slot: SLOT, mode: 'modbus' }));
          await opened;
          return { ch, replies, send: (m) => void ch.trySend(encodeHil(m)) };
        },
      };
    },
    async drained() {
      // Nothing waiting, then a read behind the request on the wire (one at a time on a bus).
      await waitFor(() => bus.queued() === 0, 20_000, 'the bus queue to empty');
      await bus.read(1, 'holding', 99, 1);
    },
    async close() {
      for (const s of sessions) s.close();
      await poller.stop();
      await bus.close();
      await link.close();
    },
  };
}

/** fc 6: write `value` to holding register `addr`. */
export function write(addr: number, value: number): Uint8Array {
  return Uint8Array.of(6, addr >> 8, addr & 0xff, value >> 8, value & 0xff);
}

/** fc 3: read `count` holding registers from `addr`. */
export function read(addr: number, count: number): Uint8Array {
  return Uint8Array.of(3, addr >> 8, addr & 0xff, count >> 8, count & 0xff);
}
