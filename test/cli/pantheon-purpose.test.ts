import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatPurpose, parsePurposeSpec } from '../../src/pantheon/purpose-spec.js';
import { CommonCode, LocalError } from '../../src/lib/errors.js';

describe('purpose SPEC grammar', () => {
  it('parses the documented examples; a modbus purpose without tables= covers holding registers, written out', () => {
    expect(parsePurposeSpec('serial.read')).toEqual({ purpose: 'serial.read' });
    expect(parsePurposeSpec('modbus.write:units=1,2:regs=0-99,200-210')).toEqual({ purpose: 'modbus.write', units: [1, 2], tables: ['holding'], registers: [[0, 99], [200, 210]] });
    expect(parsePurposeSpec('modbus.write:units=1:tables=coils,holding,coils:regs=0')).toEqual({ purpose: 'modbus.write', units: [1], tables: ['coils', 'holding'], registers: [[0, 0]] });
    expect(parsePurposeSpec('mqtt.subscribe:topics=plant/+/temp,alarms/#')).toEqual({ purpose: 'mqtt.subscribe', topics: ['plant/+/temp', 'alarms/#'] });
    expect(parsePurposeSpec('modbus.read:regs=7')).toEqual({ purpose: 'modbus.read', tables: ['holding'], registers: [[7, 7]] });
    expect(parsePurposeSpec('modbus.read:units=3,1,3')).toEqual({ purpose: 'modbus.read', tables: ['holding'], units: [1, 3] });
    expect(parsePurposeSpec('mqtt.publish:topics=a:b/c')).toEqual({ purpose: 'mqtt.publish', topics: ['a:b/c'] });
  });

  it('refuses malformed specs with USAGE', () => {
    for (const bad of [
      '',
      'Serial.read',
      'serial.read:units=1',
      'mqtt.publish:regs=1',
      'modbus.read:topics=a',
      'modbus.read:units=256',
      'modbus.read:units=',
      'modbus.read:units=1,,2',
      'modbus.read:regs=10-5',
      'modbus.read:regs=1-2-3',
      'modbus.read:regs=65536',
      'modbus.read:units=1:units=2',
      'mqtt.subscribe:topics=a/#/b',
      'mqtt.subscribe:topics=a+/b',
      'modbus.reed',
      'plant.shutdown',
      'modbus.read:tables=holdings',
      'serial.read:tables=coils',
      'modbus.read:tables=coils:tables=input',
    ]) {
      try {
        parsePurposeSpec(bad);
        expect.unreachable(bad);
      } catch (e) {
        expect(e, bad).toBeInstanceOf(LocalError);
        expect((e as LocalError).code).toBe(CommonCode.USAGE);
      }
    }
  });

  it('formatPurpose is the inverse of parsePurposeSpec', () => {
    const spec = fc.oneof(
      fc.constantFrom('serial.read', 'serial.write'),
      fc
        .record({
          name: fc.constantFrom('modbus.read', 'modbus.write'),
          units: fc.uniqueArray(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 5 }),
          tables: fc.subarray(['holding', 'input', 'coils', 'discrete'], { minLength: 1 }),
          regs: fc.array(fc.tuple(fc.integer({ min: 0, max: 0xffff }), fc.nat(300)), { minLength: 1, maxLength: 3 }),
        })
        .map((r) => `${r.name}:units=${r.units.join(',')}:tables=${r.tables.join(',')}:regs=${r.regs.map(([a, d]) => (d === 0 ? `${a}` : `${a}-${Math.min(0xffff, a + d)}`)).join(',')}`),
      fc
        .array(fc.array(fc.oneof(fc.stringMatching(/^[a-z0-9]{1,5}$/), fc.constant('+')), { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 3 })
        .map((ts) => `mqtt.subscribe:topics=${ts.map((t) => t.join('/')).join(',')}`),
    );
    fc.assert(
      fc.property(spec, (s) => {
        const p = parsePurposeSpec(s);
        expect(parsePurposeSpec(formatPurpose(p))).toEqual(p);
      }),
      { numRuns: 500 },
    );
  });
});
