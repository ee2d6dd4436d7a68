// The four channel modes of the HIL protocol, each a small function that wires one opened channel
// to one device under one SlotAuthority. Every inbound frame is checked before the device sees it;
// every outbound reading or message is checked before the operator sees it.
//
// After the Grant, the device has its say: a request it refuses on its own (a read to the
// serial-line broadcast address) and a request for a device whose port is down are audited as
// refused and answered with an exception or `refused`, never audited "allowed" and then lost.
// Modbus exceptions for a path that failed (Application Protocol §7): 0x0A "gateway path
// unavailable" when the slot's port is down (the gateway cannot reach the bus at all), 0x0B
// "gateway target device failed to respond" when the bus is up and the unit did not answer; 0x06
// "server device busy" when the unit's queue on the bus (or the operator's fair share of it) is full:
// the unit is fine, the operator should try again later.
//
// A channel that ends (closed by the operator, or with its session: Grant expired, revoked, the
// session closing) aborts its requests: those still waiting for the bus are taken off its queue and
// never sent (audited `failed`, code ABORTED, `sent: false`); one already on the wire completes and
// is audited as what happened.

import type { ModbusDevice, MqttDevice, SerialDevice, AnyDevice } from '../../hil/device.js';
import { readingAction } from './reading-action.js';
import type { AuditEntry } from './audit.js';
import type { Decision, HilAction, SlotAuthority } from './authority.js';
import { classifyPdu } from '../../hil/modbus-request.js';
import { exceptionPdu } from '../../ports/modbus/pdu.js';
import { ExceptionCode as ModbusExceptionCode } from '../../ports/modbus/vocabulary.js';
import { PortErrorCode } from '../../ports/errors.js';
import type { HilMessage } from '../../hil/messages.js';
import { topicMatches } from '../../lib/mqtt-topics.js';
import { CommonCode } from '../../lib/errors.js';

/** Subscriptions one channel may hold (each is matched against every bridged message). */
export const MAX_SUBSCRIPTIONS = 64;

export interface ChannelContext {
  readonly authority: SlotAuthority;
  /**
   * One audit line. Refusals (and requests failed with nothing sent) go through the session's refusal
   * gate (refusal-gate.ts): false = answer nothing, a refusal of the session found its operator's
   * budget spent and the session is ending.
   */
  readonly audit: (entry: AuditEntry) => boolean;
  /** false = the session's send buffer is full (the message was not queued). */
  readonly send: (m: HilMessage) => boolean;
  readonly dropped: () => void;
  readonly maxPending: number;
  /** The gateway's boot epoch, stamped on every reading (boot-epoch.ts). */
  readonly epoch: number;
  /** Whose fair share of a bus unit's queue the channel's Modbus requests take: its operator (CID, hex). */
  readonly owner?: unknown;
}

export interface OpenChannel {
  readonly cleanup: () => void;
  readonly onMessage: (m: HilMessage) => void;
}

/** False: answer nothing (the session is past its refusal budget). */
function refused(ctx: ChannelContext, action: string, d: Extract<Decision, { allowed: false }>, detail: Record<string, unknown>): boolean {
  return ctx.audit({ action, decision: 'refused', code: d.code, reason: d.reason, ...detail });
}

/** Wrong message for the mode: refuse and audit, keep the channel. */
function unexpected(ctx: ChannelContext, mode: string, m: HilMessage): void {
  if (ctx.audit({ action: `${mode}.${m.t}`, decision: 'refused', code: 'UNEXPECTED_MESSAGE', reason: `${m.t} is not part of ${mode} mode` })) ctx.send({ t: 'refused', code: 'UNEXPECTED_MESSAGE' });
}

/** Error codes that mean the slot's port is down rather than the unit silent. */
const PATH_DOWN: ReadonlySet<string> = new Set([PortErrorCode.MODBUS_OFFLINE, PortErrorCode.PORT_CLOSED, 'DEVICE_UNAVAILABLE']);

const PORT_DOWN_REASON = "the slot's port is down (device missing, unopenable or unplugged); nothing was sent";

/** tail: live readings, each held against the Grant; lossy under backpressure (counted), never unbounded. */
export function serveTail(ctx: ChannelContext, device: AnyDevice): OpenChannel {
  const off = device.onReading((r) => {
    if (!ctx.authority.check(readingAction(r)).allowed) return;
    if (!ctx.send({ t: 'reading', slot: r.slot, device: r.device, kind: r.kind, seq: r.seq, ts: r.ts, value: r.value, epoch: ctx.epoch })) ctx.dropped();
  });
  return { cleanup: off, onMessage: (m) => unexpected(ctx, 'tail', m) };
}

/** modbus: request PDUs checked function by function and register by register, then sent to the bus. */
export function serveModbus(ctx: ChannelContext, device: ModbusDevice): OpenChannel {
  let pending = 0;
  const abort = new AbortController();
  return {
    cleanup: () => abort.abort(),
    onMessage: (m) => {
      if (m.t !== 'req') return unexpected(ctx, 'modbus', m);
      const c = classifyPdu(m.pdu);
      const base = { unit: m.unit, fn: m.pdu[0] };
      if (!c.ok) {
        if (ctx.audit({ action: 'modbus.request', decision: 'refused', code: 'ILLEGAL_REQUEST', reason: c.reason, ...base })) ctx.send({ t: 'res', id: m.id, pdu: exceptionPdu(c.fn, c.exception), refused: 'ILLEGAL_REQUEST' });
        return;
      }
      const actions: HilAction[] = c.deviceId
        ? [{ purpose: 'modbus.read', unit: m.unit }]
        : c.accesses.map((a) => ({ purpose: a.access === 'read' ? 'modbus.read' : 'modbus.write', unit: m.unit, access: a }));
      for (const a of actions) {
        const d = ctx.authority.check(a);
        if (!d.allowed) {
          const access = 'access' in a ? a.access : undefined;
          if (!refused(ctx, a.purpose, d, { ...base, table: access?.table, addr: access?.addr, count: access?.count })) return;
          const code = d.code === 'PURPOSE_NOT_GRANTED' ? ModbusExceptionCode.ILLEGAL_FUNCTION : ModbusExceptionCode.ILLEGAL_DATA_ADDRESS;
          ctx.send({ t: 'res', id: m.id, pdu: exceptionPdu(c.fn, code), refused: d.code });
          return;
        }
      }
      const does = { reads: c.deviceId === true || c.accesses.some((a) => a.access === 'read'), writes: c.accesses.some((a) => a.access === 'write') };
      const action = does.writes ? 'modbus.write' : 'modbus.read';
      const own = device.refusal?.(m.unit, m.pdu, does);
      if (own !== undefined) {
        if (ctx.audit({ action, decision: 'refused', code: 'ILLEGAL_REQUEST', reason: own.reason, ...base })) ctx.send({ t: 'res', id: m.id, pdu: exceptionPdu(c.fn, own.exception), refused: 'ILLEGAL_REQUEST' });
        return;
      }
      if (device.available === false) {
        if (ctx.audit({ action, decision: 'refused', code: 'DEVICE_UNAVAILABLE', reason: PORT_DOWN_REASON, ...base })) ctx.send({ t: 'res', id: m.id, pdu: exceptionPdu(c.fn, ModbusExceptionCode.GATEWAY_PATH_UNAVAILABLE), refused: 'DEVICE_UNAVAILABLE' });
        return;
      }
      if (pending >= ctx.maxPending) {
        if (ctx.audit({ action: 'modbus.request', decision: 'refused', code: 'BUSY', reason: `${pending} requests already in flight`, ...base })) ctx.send({ t: 'res', id: m.id, pdu: exceptionPdu(c.fn, ModbusExceptionCode.SERVER_DEVICE_BUSY), refused: 'BUSY' });
        return;
      }
      pending++;
      const detail = { ...base, accesses: c.accesses.map((a) => `${a.access} ${a.table} ${a.addr}+${a.count}`) };
      device.request(m.unit, m.pdu, { signal: abort.signal, owner: ctx.owner }).then(
        (res) => {
          pending--;
          const exception = (res[0]! & 0x80) !== 0 ? res[1] : undefined;
          ctx.audit({ action, decision: 'allowed', ...detail, exception });
          ctx.send({ t: 'res', id: m.id, pdu: res });
        },
        (e: unknown) => {
          pending--;
          const code = (e as { code?: string }).code ?? 'DEVICE_ERROR';
          const reason = String((e as Error).message ?? e);
          if (code === CommonCode.ABORTED) {
            // The channel ended while the request waited for the bus: nobody is left to answer.
            ctx.audit({ action: 'modbus.request', decision: 'failed', code, sent: false, reason, ...detail });
            return;
          }
          if (code === CommonCode.BUFFER_FULL) {
            // The unit's queue, or this operator's share of it: the unit is not at fault (not 0x0B).
            if (ctx.audit({ action: 'modbus.request', decision: 'refused', code: 'BUSY', reason, ...base })) ctx.send({ t: 'res', id: m.id, pdu: exceptionPdu(c.fn, ModbusExceptionCode.SERVER_DEVICE_BUSY), refused: 'BUSY' });
            return;
          }
          // A unit known silent (MODBUS_UNIT_SILENT) was not asked: audited through the refusal gate, so false can come.
          if (!ctx.audit({ action: 'modbus.request', decision: 'failed', code, reason, ...detail })) return;
          // §7: a port that went down under the request is a path failure (0x0A); anything else, a target that did not answer (0x0B).
          const exception = PATH_DOWN.has(code) ? ModbusExceptionCode.GATEWAY_PATH_UNAVAILABLE : ModbusExceptionCode.GATEWAY_TARGET_DEVICE_FAILED_TO_RESPOND;
          ctx.send({ t: 'res', id: m.id, pdu: exceptionPdu(c.fn, exception) });
        },
      );
    },
  };
}

/** serial: bytes from the equipment flow out only with serial.read; bytes in only with serial.write. */
export function serveSerial(ctx: ChannelContext, device: SerialDevice): OpenChannel {
  const off = ctx.authority.has('serial.read')
    ? device.onData((d) => {
        if (!ctx.send({ t: 'data', d })) ctx.dropped();
      })
    : () => {};
  return {
    cleanup: off,
    onMessage: (m) => {
      if (m.t !== 'data') return unexpected(ctx, 'serial', m);
      const d = ctx.authority.check({ purpose: 'serial.write' });
      if (!d.allowed) {
        if (refused(ctx, 'serial.write', d, { bytes: m.d.length })) ctx.send({ t: 'refused', code: d.code });
        return;
      }
      if (device.available === false) {
        if (ctx.audit({ action: 'serial.write', decision: 'refused', code: 'DEVICE_UNAVAILABLE', reason: PORT_DOWN_REASON, bytes: m.d.length })) ctx.send({ t: 'refused', code: 'DEVICE_UNAVAILABLE' });
        return;
      }
      ctx.audit({ action: 'serial.write', decision: 'allowed', bytes: m.d.length });
      device.write(m.d).catch((e: unknown) => {
        const code = (e as { code?: string }).code ?? 'DEVICE_ERROR';
        ctx.audit({ action: 'serial.write', decision: 'failed', code, reason: String(e), bytes: m.d.length });
        // The operator learns the write did not arrive (the reason stays in the audit log).
        ctx.send({ t: 'refused', code: code === 'DEVICE_UNAVAILABLE' ? 'DEVICE_UNAVAILABLE' : 'DEVICE_ERROR' });
      });
    },
  };
}

/** mqtt: subscriptions and publications inside the granted topic filters only. */
export function serveMqtt(ctx: ChannelContext, device: MqttDevice): OpenChannel {
  const filters: string[] = [];
  /**
   * Filters whose device.subscribe() has not answered yet. They count towards the bound: a burst of
   * `sub` delivered in one turn (a gap in the blocks filled) all passed a check of `filters` alone.
   */
  const subscribing = new Set<string>();
  const off = device.onMessage((topic, payload) => {
    if (!filters.some((f) => topicMatches(f, topic))) return;
    if (!ctx.authority.check({ purpose: 'mqtt.subscribe', filter: topic }).allowed) return;
    if (!ctx.send({ t: 'msg', topic, payload })) ctx.dropped();
  });
  return {
    cleanup: off,
    onMessage: (m) => {
      if (m.t === 'sub') {
        const d = ctx.authority.check({ purpose: 'mqtt.subscribe', filter: m.filter });
        if (!d.allowed) {
          if (refused(ctx, 'mqtt.subscribe', d, { filter: m.filter })) ctx.send({ t: 'refused', code: d.code, filter: m.filter });
          return;
        }
        const known = filters.includes(m.filter) || subscribing.has(m.filter);
        if (!known && filters.length + subscribing.size >= MAX_SUBSCRIPTIONS) {
          if (ctx.audit({ action: 'mqtt.subscribe', decision: 'refused', code: 'TOO_MANY_SUBSCRIPTIONS', reason: `at most ${MAX_SUBSCRIPTIONS} per channel`, filter: m.filter })) ctx.send({ t: 'refused', code: 'TOO_MANY_SUBSCRIPTIONS', filter: m.filter });
          return;
        }
        ctx.audit({ action: 'mqtt.subscribe', decision: 'allowed', filter: m.filter });
        if (!known) subscribing.add(m.filter);
        device.subscribe(m.filter).then(
          () => {
            if (subscribing.delete(m.filter)) filters.push(m.filter);
            ctx.send({ t: 'suback', filter: m.filter });
          },
          (e: unknown) => {
            subscribing.delete(m.filter);
            // The Grant allowed it but the device cannot (e.g. a topic the bridge does not carry): say so.
            const code = (e as { code?: string }).code ?? 'DEVICE_ERROR';
            ctx.audit({ action: 'mqtt.subscribe', decision: 'failed', code, reason: String(e), filter: m.filter });
            // An operator granted this slot may learn what its bridge carries, so a typo'd filter gets a fix.
            const bridged = code === 'TOPIC_NOT_BRIDGED' && device.bridged !== undefined ? { bridged: [...device.bridged.subscribe] } : {};
            ctx.send({ t: 'refused', code, filter: m.filter, ...bridged });
          },
        );
        return;
      }
      if (m.t === 'pub') {
        const d = ctx.authority.check({ purpose: 'mqtt.publish', topic: m.topic });
        if (!d.allowed) {
          if (refused(ctx, 'mqtt.publish', d, { topic: m.topic, bytes: m.payload.length })) ctx.send({ t: 'refused', code: d.code, id: m.id });
          return;
        }
        ctx.audit({ action: 'mqtt.publish', decision: 'allowed', topic: m.topic, bytes: m.payload.length, qos: m.qos });
        device.publish(m.topic, m.payload, m.qos, m.retain).then(
          () => ctx.send({ t: 'puback', id: m.id }),
          (e: unknown) => {
            const code = (e as { code?: string }).code === 'TOPIC_NOT_BRIDGED' ? 'TOPIC_NOT_BRIDGED' : 'DEVICE_ERROR';
            ctx.audit({ action: 'mqtt.publish', decision: 'failed', code, reason: String(e), topic: m.topic });
            const bridged = code === 'TOPIC_NOT_BRIDGED' && device.bridged !== undefined ? { bridged: [...device.bridged.publish] } : {};
            ctx.send({ t: 'refused', code, id: m.id, ...bridged });
          },
        );
        return;
      }
      unexpected(ctx, 'mqtt', m);
    },
  };
}

/**
 * diag: the slot's per-slave diagnostics, one report per `diagq` (issue #13). A report says how the
 * bus's units answered, never what their registers hold, so diag.read opens it on its own.
 */
export function serveDiag(ctx: ChannelContext, device: ModbusDevice): OpenChannel {
  return {
    cleanup: () => undefined,
    onMessage: (m) => {
      if (m.t !== 'diagq') return unexpected(ctx, 'diag', m);
      const d = ctx.authority.check({ purpose: 'diag.read' });
      if (!d.allowed) {
        if (refused(ctx, 'diag.read', d, {})) ctx.send({ t: 'refused', code: d.code, id: m.id });
        return;
      }
      if (device.diagnostics === undefined) {
        if (ctx.audit({ action: 'diag.read', decision: 'refused', code: 'MODE_NOT_SUPPORTED', reason: `a ${device.driver} device keeps no diagnostics` })) ctx.send({ t: 'refused', code: 'MODE_NOT_SUPPORTED', id: m.id });
        return;
      }
      ctx.audit({ action: 'diag.read', decision: 'allowed' });
      ctx.send({ t: 'diag', id: m.id, d: device.diagnostics() });
    },
  };
}
