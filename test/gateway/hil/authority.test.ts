import { describe, expect, it } from 'vitest';
import { SlotAuthority, type HilAction } from '../../../src/gateway/hil/authority.js';
import type { Purpose } from '../../../src/uzp/artefacts/types.js';
import { TestDomain } from '../../helpers/domain.js';

const d = new TestDomain();
const op = d.member('operator');
const gw = d.member('gateway');
const trust = d.trust();

function authority(purposes: Purpose[], scope: { slot?: string; device?: string } = { slot: 'rs485-1' }, binding = { slot: 'rs485-1', device: 'boiler-1' }) {
  const grant = trust.validateGrant(d.grant(op.id.cid, gw.id.cid, { purposes, ...scope }), { audience: gw.id.cid, nonce: 'ignore' });
  return new SlotAuthority(grant, binding);
}

type Table = 'holding' | 'input' | 'coils' | 'discrete';
const read = (unit: number, addr: number, count: number, table: Table = 'holding'): HilAction => ({ purpose: 'modbus.read', unit, access: { access: 'read', table, addr, count } });
const write = (unit: number, addr: number, count: number, table: 'holding' | 'coils' = 'holding'): HilAction => ({ purpose: 'modbus.write', unit, access: { access: 'write', table, addr, count } });
const code = (d: ReturnType<SlotAuthority['check']>) => (d.allowed ? 'ok' : d.code);

describe('HIL slot authority (draft §4.3)', () => {
  it('a Grant without a slot, or for another slot or device, grants nothing on this slot', () => {
    expect(code(authority([{ purpose: 'serial.read' }], {}).check({ purpose: 'serial.read' }))).toBe('SLOT_NOT_GRANTED');
    expect(code(authority([{ purpose: 'serial.read' }], { slot: 'uart-0' }).check({ purpose: 'serial.read' }))).toBe('SLOT_NOT_GRANTED');
    expect(code(authority([{ purpose: 'serial.read' }], { slot: 'rs485-1', device: 'boiler-2' }).check({ purpose: 'serial.read' }))).toBe('DEVICE_NOT_GRANTED');
    expect(code(authority([{ purpose: 'serial.read' }], { slot: 'rs485-1', device: 'boiler-1' }).check({ purpose: 'serial.read' }))).toBe('ok');
  });

  it('no modbus.write -> writes refused, reads allowed', () => {
    const a = authority([{ purpose: 'modbus.read' }]);
    expect(code(a.check(read(1, 0, 10)))).toBe('ok');
    expect(code(a.check(write(1, 0, 1)))).toBe('PURPOSE_NOT_GRANTED');
  });

  it('registers outside the granted ranges are refused; a request must fit inside the union of ranges', () => {
    const a = authority([{ purpose: 'modbus.write', units: [1], registers: [[0, 9], [10, 19], [100, 100]] }]);
    expect(code(a.check(write(1, 5, 10)))).toBe('ok'); // 5..14 spans two adjacent ranges
    expect(code(a.check(write(1, 15, 10)))).toBe('REGISTER_OUT_OF_RANGE'); // 15..24
    expect(code(a.check(write(1, 100, 1)))).toBe('ok');
    expect(code(a.check(write(1, 99, 2)))).toBe('REGISTER_OUT_OF_RANGE');
    expect(code(a.check(write(2, 0, 1)))).toBe('UNIT_NOT_GRANTED');
  });

  it('several entries of one purpose are alternatives, each with its own units and ranges', () => {
    const a = authority([
      { purpose: 'modbus.read', units: [1], registers: [[0, 9]] },
      { purpose: 'modbus.read', units: [2], registers: [[50, 59]] },
    ]);
    expect(code(a.check(read(1, 0, 10)))).toBe('ok');
    expect(code(a.check(read(2, 50, 10)))).toBe('ok');
    expect(code(a.check(read(1, 50, 1)))).toBe('REGISTER_OUT_OF_RANGE');
    expect(code(a.check(read(3, 0, 1)))).toBe('UNIT_NOT_GRANTED');
  });

  it('absent units / registers mean every unit / address of the granted tables; absent tables mean holding registers only', () => {
    const a = authority([{ purpose: 'modbus.read' }]);
    expect(code(a.check(read(247, 65535, 1)))).toBe('ok');
    for (const t of ['coils', 'discrete', 'input'] as const) expect(code(a.check(read(247, 0, 1, t))), t).toBe('REGISTER_OUT_OF_RANGE');
    const all = authority([{ purpose: 'modbus.read', tables: ['holding', 'input', 'coils', 'discrete'] }]);
    for (const t of ['holding', 'coils', 'discrete', 'input'] as const) expect(code(all.check(read(247, 65535, 1, t))), t).toBe('ok');
  });

  it('unit 0 (the broadcast address): a Grant writes there only when an entry names unit 0; absent units cover every other unit', () => {
    // The review's case: modbus.write without units broadcast an fc 6 to every slave of the line.
    const anyUnit = authority([{ purpose: 'modbus.write' }, { purpose: 'modbus.read' }]);
    expect(code(anyUnit.check(write(0, 5, 1)))).toBe('UNIT_NOT_GRANTED');
    expect(code(anyUnit.check(write(0, 5, 1, 'coils')))).toBe('UNIT_NOT_GRANTED');
    const refused = anyUnit.check(write(0, 5, 1));
    expect(refused.allowed ? '' : refused.reason).toMatch(/broadcast.*names unit 0/);
    for (const unit of [1, 2, 247, 255]) expect(code(anyUnit.check(write(unit, 5, 1))), `unit ${unit}`).toBe('ok');
    // A read is never a broadcast (the device refuses one to unit 0 on a serial line; on Modbus TCP 0 is an ordinary unit).
    expect(code(anyUnit.check(read(0, 5, 1)))).toBe('ok');
    const named = authority([{ purpose: 'modbus.write', units: [0], registers: [[5, 5]] }]);
    expect(code(named.check(write(0, 5, 1)))).toBe('ok');
    expect(code(named.check(write(1, 5, 1)))).toBe('UNIT_NOT_GRANTED');
    // Alternatives: one entry naming 0 is enough, whatever the others say.
    expect(code(authority([{ purpose: 'modbus.write' }, { purpose: 'modbus.write', units: [0, 1] }]).check(write(0, 5, 1)))).toBe('ok');
  });

  it('a register range covers only its tables: a holding-register write Grant does not allow a coil write at the same address', () => {
    // The first trial: modbus.write:units=1:regs=0-4 also let fc 5 write coil 0.
    const legacyShape = authority([{ purpose: 'modbus.write', units: [1], registers: [[0, 4]] }]);
    expect(code(legacyShape.check(write(1, 0, 1)))).toBe('ok');
    expect(code(legacyShape.check(write(1, 0, 1, 'coils')))).toBe('REGISTER_OUT_OF_RANGE');
    const coils = authority([{ purpose: 'modbus.write', units: [1], tables: ['coils'], registers: [[0, 4]] }]);
    expect(code(coils.check(write(1, 0, 1, 'coils')))).toBe('ok');
    expect(code(coils.check(write(1, 0, 1)))).toBe('REGISTER_OUT_OF_RANGE');
    const refused = coils.check(write(1, 0, 1));
    expect(refused.allowed ? '' : refused.reason).toBe('holding of unit 1 is not granted (granted tables: coils)');
  });

  it('one Grant, several slots: each slot gets its own purposes, and a slot it does not name is refused, naming the ones it does', () => {
    const grant = trust.validateGrant(
      d.grant(op.id.cid, gw.id.cid, { scopes: [{ slot: 'rs485-1', purposes: [{ purpose: 'modbus.read' }] }, { slot: 'tty-1', device: 'scale-3', purposes: [{ purpose: 'serial.read' }] }] }),
      { audience: gw.id.cid },
    );
    const bus = new SlotAuthority(grant, { slot: 'rs485-1', device: 'boiler-1' });
    const tty = new SlotAuthority(grant, { slot: 'tty-1', device: 'scale-3' });
    expect([code(bus.check(read(1, 0, 1))), code(bus.check({ purpose: 'serial.read' }))]).toEqual(['ok', 'PURPOSE_NOT_GRANTED']);
    expect([code(tty.check({ purpose: 'serial.read' })), code(tty.check(read(1, 0, 1)))]).toEqual(['ok', 'PURPOSE_NOT_GRANTED']);
    const other = new SlotAuthority(grant, { slot: 'net-1', device: 'press-2' }).checkSlot();
    expect(other).toEqual({ allowed: false, code: 'SLOT_NOT_GRANTED', reason: 'the Grant does not name slot "net-1" (it names rs485-1, tty-1)' });
  });

  it('MQTT: subscriptions must stay inside a granted filter, publications must match one', () => {
    const a = authority([
      { purpose: 'mqtt.subscribe', topics: ['plant/+/temp', 'alarms/#'] },
      { purpose: 'mqtt.publish', topics: ['plant/press3/cmd'] },
    ]);
    expect(code(a.check({ purpose: 'mqtt.subscribe', filter: 'plant/press3/temp' }))).toBe('ok');
    expect(code(a.check({ purpose: 'mqtt.subscribe', filter: 'alarms/line2/#' }))).toBe('ok');
    expect(code(a.check({ purpose: 'mqtt.subscribe', filter: 'plant/#' }))).toBe('TOPIC_OUT_OF_FILTER');
    expect(code(a.check({ purpose: 'mqtt.subscribe', filter: '#' }))).toBe('TOPIC_OUT_OF_FILTER');
    expect(code(a.check({ purpose: 'mqtt.subscribe', filter: 'a/#/b' }))).toBe('BAD_TOPIC');
    expect(code(a.check({ purpose: 'mqtt.publish', topic: 'plant/press3/cmd' }))).toBe('ok');
    expect(code(a.check({ purpose: 'mqtt.publish', topic: 'plant/press4/cmd' }))).toBe('TOPIC_OUT_OF_FILTER');
    expect(code(a.check({ purpose: 'mqtt.publish', topic: 'plant/+/cmd' }))).toBe('BAD_TOPIC');
  });

  it('has() reports purposes only for a granted slot', () => {
    expect(authority([{ purpose: 'serial.read' }]).has('serial.read')).toBe(true);
    expect(authority([{ purpose: 'serial.read' }]).has('serial.write')).toBe(false);
    expect(authority([{ purpose: 'serial.read' }], { slot: 'x' }).has('serial.read')).toBe(false);
  });
});
