// One simulated Modbus slave: four data tables (Modbus Application Protocol V1.1b3 §4.3), the
// functions 1, 2, 3, 4, 5, 6, 15, 16 and 43/14, and the exception rules of each function's state
// diagram (§6): unsupported function -> 01, quantity out of range -> 03, address out of range -> 02.
// Pure: a request PDU in, a response PDU out; the bus decides who hears it and when.

import { deviceIdObjects, readDeviceId, type DeviceIdentity } from './modbus-device-id.js';
import { EXCEPTION } from './modbus-exceptions.js';
import { COIL_OFF, COIL_ON, decodeRequest, encodeResponse, MEI_READ_DEVICE_ID, packBits, type DeviceIdObject, type ModbusException, type ModbusRequest, type ModbusResponse } from './modbus-pdu.js';
import { MAX_UNIT } from './modbus-rtu-frame.js';
import { toWord, type BitSource, type RegisterSource } from './live-values.js';
import { CommonCode, DecodeError, LocalError } from '../lib/errors.js';

type BitTable = 'coils' | 'discreteInputs';
type RegisterTable = 'holdingRegisters' | 'inputRegisters';

/** What can go wrong with this slave on the line; changeable while the bus runs. */
export interface SlaveFaults {
  /** Never answers (a slave that is unpowered or unplugged from the RS-485 pair). */
  dead?: boolean;
  /** Extra turnaround before the reply, in ms (a slow slave). */
  delayMs?: number;
  /** Answers with this unit id instead of its own (a misconfigured or confused slave). */
  replyAsUnit?: number;
  /** Sends its replies with a corrupted CRC. */
  badCrc?: boolean;
  /** Garbage bytes glued in front of the reply (line noise), so the master sees one bad frame. */
  noiseBytes?: number;
  /** Probability in [0, 1] that replyAsUnit / badCrc / noiseBytes hit a given reply (default 1). */
  rate?: number;
}

export interface ModbusSlaveSpec {
  /** 1..247 (Modbus over Serial Line V1.02 §2.2). */
  readonly unit: number;
  readonly coils?: readonly BitSource[];
  readonly discreteInputs?: readonly BitSource[];
  readonly holdingRegisters?: readonly RegisterSource[];
  readonly inputRegisters?: readonly RegisterSource[];
  /** Answers 43/14 when set; otherwise function 43 is illegal (exception 01). */
  readonly identity?: DeviceIdentity;
  readonly faults?: SlaveFaults;
}

/** §6.1 / §6.3 / §6.11 / §6.12: the quantity limits that keep a response inside one PDU. */
const MAX_READ_BITS = 2000;
const MAX_READ_REGISTERS = 125;
const MAX_WRITE_BITS = 1968;
const MAX_WRITE_REGISTERS = 123;

export class ModbusSlave {
  readonly unit: number;
  faults: SlaveFaults;
  readonly counters = { requests: 0, exceptions: 0, writes: 0 };
  private readonly bits: Record<BitTable, BitSource[]>;
  private readonly regs: Record<RegisterTable, RegisterSource[]>;
  private readonly idObjects: DeviceIdObject[] | undefined;

  constructor(spec: ModbusSlaveSpec) {
    if (!Number.isInteger(spec.unit) || spec.unit < 1 || spec.unit > MAX_UNIT) {
      throw new LocalError(CommonCode.USAGE, `slave unit id: expected 1..${MAX_UNIT}, got ${spec.unit}`);
    }
    this.unit = spec.unit;
    this.faults = { ...spec.faults };
    this.bits = { coils: [...(spec.coils ?? [])], discreteInputs: [...(spec.discreteInputs ?? [])] };
    this.regs = { holdingRegisters: [...(spec.holdingRegisters ?? [])], inputRegisters: [...(spec.inputRegisters ?? [])] };
    this.idObjects = spec.identity === undefined ? undefined : deviceIdObjects(spec.identity);
  }

  /** Current value of a register (live sources evaluated at `nowMs`); undefined outside the table. */
  register(table: RegisterTable, address: number, nowMs = 0): number | undefined {
    const s = this.regs[table][address];
    return s === undefined ? undefined : toWord(typeof s === 'function' ? s(nowMs) : s);
  }

  bit(table: BitTable, address: number, nowMs = 0): boolean | undefined {
    const s = this.bits[table][address];
    return s === undefined ? undefined : typeof s === 'function' ? s(nowMs) : s;
  }

  /** Sets a register or bit from the test / demo side (any table, a constant or a live source). */
  setRegister(table: RegisterTable, address: number, value: RegisterSource): void {
    this.checkAddress(this.regs[table].length, address);
    this.regs[table][address] = value;
  }
  setBit(table: BitTable, address: number, value: BitSource): void {
    this.checkAddress(this.bits[table].length, address);
    this.bits[table][address] = value;
  }

  private checkAddress(size: number, address: number): void {
    if (!Number.isInteger(address) || address < 0 || address >= size) throw new LocalError(CommonCode.USAGE, `address ${address} is outside the table (0..${size - 1})`);
  }

  /**
   * Serves one request PDU at time `nowMs`. Returns the response PDU, or null for a broadcast
   * (§2.1: broadcast requests are writes and get no reply).
   */
  handle(pdu: Uint8Array, nowMs: number, broadcast = false): Uint8Array | null {
    this.counters.requests++;
    const res = this.serve(pdu, nowMs, broadcast);
    if ('exception' in res) this.counters.exceptions++;
    return broadcast ? null : encodeResponse(res);
  }

  private serve(pdu: Uint8Array, now: number, broadcast: boolean): ModbusResponse | ModbusException {
    const fn = pdu[0] ?? 0;
    const supported = (fn >= 1 && fn <= 6) || fn === 15 || fn === 16 || (fn === 43 && pdu[1] === MEI_READ_DEVICE_ID && this.idObjects !== undefined);
    if (!supported) return { fn, exception: EXCEPTION.ILLEGAL_FUNCTION };
    let req: ModbusRequest;
    try {
      req = decodeRequest(pdu);
    } catch (e) {
      // A well-framed request whose fields do not add up (byte count vs quantity, short PDU): §6 answers 03.
      if (e instanceof DecodeError) return { fn, exception: EXCEPTION.ILLEGAL_DATA_VALUE };
      throw e;
    }
    if (broadcast && !(req.fn === 5 || req.fn === 6 || req.fn === 15 || req.fn === 16)) return { fn, exception: EXCEPTION.ILLEGAL_FUNCTION };
    return this.execute(req, now);
  }

  private execute(req: ModbusRequest, now: number): ModbusResponse | ModbusException {
    const ex = (code: number): ModbusException => ({ fn: req.fn, exception: code });
    switch (req.fn) {
      case 1:
      case 2: {
        const table: BitTable = req.fn === 1 ? 'coils' : 'discreteInputs';
        if (req.quantity < 1 || req.quantity > MAX_READ_BITS) return ex(EXCEPTION.ILLEGAL_DATA_VALUE);
        if (req.address + req.quantity > this.bits[table].length) return ex(EXCEPTION.ILLEGAL_DATA_ADDRESS);
        const values: boolean[] = [];
        for (let i = 0; i < req.quantity; i++) values.push(this.bit(table, req.address + i, now)!);
        return { fn: req.fn, data: packBits(values) };
      }
      case 3:
      case 4: {
        const table: RegisterTable = req.fn === 3 ? 'holdingRegisters' : 'inputRegisters';
        if (req.quantity < 1 || req.quantity > MAX_READ_REGISTERS) return ex(EXCEPTION.ILLEGAL_DATA_VALUE);
        if (req.address + req.quantity > this.regs[table].length) return ex(EXCEPTION.ILLEGAL_DATA_ADDRESS);
        const registers: number[] = [];
        for (let i = 0; i < req.quantity; i++) registers.push(this.register(table, req.address + i, now)!);
        return { fn: req.fn, registers };
      }
      case 5:
        if (req.value !== COIL_ON && req.value !== COIL_OFF) return ex(EXCEPTION.ILLEGAL_DATA_VALUE);
        if (req.address >= this.bits.coils.length) return ex(EXCEPTION.ILLEGAL_DATA_ADDRESS);
        this.bits.coils[req.address] = req.value === COIL_ON;
        this.counters.writes++;
        return { fn: 5, address: req.address, value: req.value };
      case 6:
        if (req.address >= this.regs.holdingRegisters.length) return ex(EXCEPTION.ILLEGAL_DATA_ADDRESS);
        this.regs.holdingRegisters[req.address] = req.value;
        this.counters.writes++;
        return { fn: 6, address: req.address, value: req.value };
      case 15:
        if (req.values.length > MAX_WRITE_BITS) return ex(EXCEPTION.ILLEGAL_DATA_VALUE);
        if (req.address + req.values.length > this.bits.coils.length) return ex(EXCEPTION.ILLEGAL_DATA_ADDRESS);
        req.values.forEach((v, i) => (this.bits.coils[req.address + i] = v));
        this.counters.writes++;
        return { fn: 15, address: req.address, quantity: req.values.length };
      case 16:
        if (req.values.length > MAX_WRITE_REGISTERS) return ex(EXCEPTION.ILLEGAL_DATA_VALUE);
        if (req.address + req.values.length > this.regs.holdingRegisters.length) return ex(EXCEPTION.ILLEGAL_DATA_ADDRESS);
        req.values.forEach((v, i) => (this.regs.holdingRegisters[req.address + i] = v));
        this.counters.writes++;
        return { fn: 16, address: req.address, quantity: req.values.length };
      case 43:
        return readDeviceId(this.idObjects ?? [], req.readDeviceIdCode, req.objectId);
    }
  }
}
