// The modes' side of the refusal budget (refusal-gate.ts): once the session's gate says false (a
// refusal of the session found its operator's budget spent and it is being ended), a refusal is not answered, on every Modbus path
// as on the others. Before, the Modbus paths audited through ctx.audit, which ignored the gate's
// false, and answered anyway (found by review).
import { describe, expect, it } from 'vitest';
import { SlotAuthority } from '../../../src/gateway/hil/authority.js';
import type { AuditEntry } from '../../../src/gateway/hil/audit.js';
import { serveModbus, type ChannelContext } from '../../../src/gateway/hil/modes.js';
import type { ModbusDevice } from '../../../src/hil/device.js';
import type { HilMessage } from '../../../src/hil/messages.js';
import { CommonCode, StateError } from '../../../src/lib/errors.js';
import { ModbusUnitSilentError } from '../../../src/ports/errors.js';
import type { Grant, Valid } from '../../../src/uzp/artefacts/types.js';

const grant = { objectId: new Uint8Array(32), body: { scopes: [{ slot: 's1', purposes: [{ purpose: 'modbus.read', units: [1], registers: [[0, 9]] }] }] } } as unknown as Valid<Grant>;

/** A Modbus channel whose gate refuses to let anything but allowed lines through (the session is over budget). */
function overBudget(device: Partial<ModbusDevice>, maxPending = 64) {
  const sent: HilMessage[] = [];
  const gated: AuditEntry[] = [];
  const ctx: ChannelContext = {
    authority: new SlotAuthority(grant, { slot: 's1', device: 'd' }),
    audit: (e) => (e.decision === 'allowed' ? true : (gated.push(e), false)),
    send: (m) => (sent.push(m), true),
    dropped: () => {},
    maxPending,
    epoch: 1,
  };
  const dev = { slot: 's1', id: 'd', kind: 'modbus', driver: 'modbus-poller', onReading: () => () => {}, request: async () => Uint8Array.of(3, 2, 0, 1), ...device } as ModbusDevice;
  return { ch: serveModbus(ctx, dev), sent, gated };
}

const read = (id: number, unit = 1, addr = 0) => ({ t: 'req', id, unit, pdu: Uint8Array.of(3, 0, addr, 0, 1) }) as const;
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

describe('modbus mode: a refusal the gate does not let through is not answered', () => {
  it('malformed, not granted, outside the ranges, refused by the device, port down, BUSY, a unit known silent, another mode\'s message', async () => {
    const cases: [Partial<ModbusDevice>, HilMessage][] = [
      [{}, { t: 'req', id: 1, unit: 1, pdu: Uint8Array.of(3) }],
      [{}, read(2, 2)],
      [{}, read(3, 1, 50)],
      [{ refusal: () => ({ exception: 1, reason: 'broadcast read' }) }, read(4)],
      [{ available: false }, read(5)],
      [{ request: () => Promise.reject(new StateError(CommonCode.BUFFER_FULL, 'queue full')) }, read(6)],
      [{ request: () => Promise.reject(new ModbusUnitSilentError(1, 2)) }, read(7)],
      [{}, { t: 'sub', filter: 'x' }],
    ];
    for (const [device, m] of cases) {
      const c = overBudget(device);
      c.ch.onMessage(m);
      await settle();
      expect(c.gated, JSON.stringify(m.t === 'req' ? m.id : m.t)).toHaveLength(1);
      expect(c.sent, JSON.stringify(m.t === 'req' ? m.id : m.t)).toEqual([]);
    }
    // More requests in flight than the channel takes: the one past them is BUSY, not answered either.
    const c = overBudget({ request: () => new Promise(() => {}) }, 1);
    c.ch.onMessage(read(8));
    c.ch.onMessage(read(9));
    expect(c.gated).toMatchObject([{ code: 'BUSY' }]);
    expect(c.sent).toEqual([]);
  });
});
