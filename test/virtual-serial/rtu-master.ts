// A minimal Modbus RTU master for the simulator tests, on the simulators' own codec: send one
// request frame, collect the reply frame by t3.5 silence. Independent of jsmodbus and of the
// gateway's port code (the interop test uses modbus-serial as a third implementation).

import type { ByteDuplex } from '../../src/sim/duplex.js';
import { listen } from '../../src/sim/duplex.js';
import { DEFAULT_FRAMING, t35Ms, type Framing } from '../../src/ports/line-timing.js';
import { decodeResponse, encodeRequest, type ModbusException, type ModbusRequest, type ModbusResponse } from '../../src/sim/modbus-pdu.js';
import { decodeRtu, encodeRtu, expectedResponseLength } from '../../src/sim/modbus-rtu-frame.js';
import { RtuFramer } from '../../src/sim/rtu-framer.js';

export class RtuMaster {
  /** Every frame received, in order (including unexpected ones). */
  readonly frames: Uint8Array[] = [];
  private waiters: ((f: Uint8Array) => void)[] = [];
  private readonly framer: RtuFramer;
  private readonly stop: () => void;

  constructor(
    private readonly port: ByteDuplex,
    baud: number,
    framing: Framing = DEFAULT_FRAMING,
  ) {
    this.framer = new RtuFramer({ silenceMs: t35Ms(baud, framing), expectedLength: expectedResponseLength }, (f) => {
      this.frames.push(f);
      this.waiters.shift()?.(f);
    });
    this.stop = listen(port, (c) => this.framer.push(c));
  }

  /** Writes raw bytes (a hand-made or corrupted frame). */
  sendRaw(bytes: Uint8Array): void {
    this.port.write(bytes);
  }

  /** Resolves with the next whole frame, or null if none arrives within `timeoutMs`. */
  nextFrame(timeoutMs = 2000): Promise<Uint8Array | null> {
    return new Promise((resolve) => {
      const take = (f: Uint8Array): void => {
        clearTimeout(timer);
        resolve(f);
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== take);
        resolve(null);
      }, timeoutMs);
      this.waiters.push(take);
    });
  }

  /** Sends a request and returns the raw reply frame (null on silence). */
  async requestRaw(unit: number, pdu: Uint8Array, timeoutMs?: number): Promise<Uint8Array | null> {
    const reply = this.nextFrame(timeoutMs);
    this.sendRaw(encodeRtu({ unit, pdu }));
    return reply;
  }

  /** Sends `req` to `unit` and decodes the reply (throws DecodeError on a bad frame, null on silence). */
  async call(unit: number, req: ModbusRequest, timeoutMs?: number): Promise<{ unit: number; response: ModbusResponse | ModbusException } | null> {
    const raw = await this.requestRaw(unit, encodeRequest(req), timeoutMs);
    if (raw === null) return null;
    const f = decodeRtu(raw);
    return { unit: f.unit, response: decodeResponse(f.pdu) };
  }

  close(): void {
    this.stop();
    this.framer.reset();
  }
}
