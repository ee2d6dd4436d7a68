// The refusal budget (src/gateway/hil/refusal-budget.ts) spares what an honest client causes at the
// rate of its own requests: BUSY, a slot whose port is down (DEVICE_UNAVAILABLE: every request is
// answered 0x0A at once), a unit known silent. A poller of a slot whose port is down was ended like
// the BUSY case (found by review). Other refusals still end the session past the budget.

import { describe, expect, it } from 'vitest';
import { AuditLog } from '../../../src/gateway/hil/audit.js';
import { RefusalGate } from '../../../src/gateway/hil/refusal-gate.js';
import { RefusalBudget, REFUSALS_PER_S } from '../../../src/gateway/hil/refusal-budget.js';
import { FakeClock } from '../../helpers/fake-clock.js';

function gate() {
  let ended = 0;
  const clock = new FakeClock();
  const g = new RefusalGate({
    audit: AuditLog.create({ write: () => {} }),
    stats: { sessions: 0, channels: 0, refusals: 0, readingsDropped: 0 },
    clock,
    budget: new RefusalBudget(clock),
    session: { operator: new Uint8Array(32), grant: new Uint8Array(32) },
    end: () => void ended++,
  });
  return { g, ended: () => ended };
}

describe('RefusalGate: what spends the budget', () => {
  it.each(['BUSY', 'DEVICE_UNAVAILABLE'] as const)('%s, 3 x REFUSALS_PER_S at once: all answered, the session kept', (code) => {
    const { g, ended } = gate();
    for (let i = 0; i < 3 * REFUSALS_PER_S; i++) expect(g.refused({ operator: new Uint8Array(32), grant: new Uint8Array(32), slot: 'rs485-1' }, { action: 'modbus.request', decision: 'refused', code, reason: 'x' })).toBe(true);
    expect(ended()).toBe(0);
    expect(g.ended).toBe(false);
  });

  it('another code past the budget ends the session, once', () => {
    const { g, ended } = gate();
    const answered = Array.from({ length: 3 * REFUSALS_PER_S }, () => g.refused({ operator: new Uint8Array(32), grant: new Uint8Array(32), slot: 'rs485-1' }, { action: 'modbus.read', decision: 'refused', code: 'REGISTER_OUT_OF_RANGE', reason: 'x' }));
    expect(answered.filter(Boolean)).toHaveLength(REFUSALS_PER_S);
    expect(ended()).toBe(1);
  });
});
