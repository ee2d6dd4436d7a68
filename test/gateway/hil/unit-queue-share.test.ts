// Two operators on one unit, one of them keeping the unit's queue on the bus full (review of
// 3deca72, finding 4): the other's reads are still served, the flooder is told BUSY (exception 0x06,
// docs/PROFILE.md refusal codes) and the audit says refused BUSY, not `failed` as if the unit were
// dead. Before, the second operator got exception 0x0B ("target failed to respond") on 26 of 30
// reads although the unit answered. Real serial port and simulated slave (virtual-serial harness).

import { afterEach, describe, expect, it } from 'vitest';
import { REFUSAL_SUMMARY_MS } from '../../../src/gateway/hil/refusal-gate.js';
import { FakeClock, turns } from '../../helpers/fake-clock.js';
import { cleanupVirtualSerial, waitFor } from '../../virtual-serial/harness.js';
import { modbusBrokerRig, read, type Rig } from './modbus-broker-rig.js';

let rig: Rig | undefined;
afterEach(async () => {
  await rig?.close();
  rig = undefined;
  await cleanupVirtualSerial();
});

describe('operators sharing a unit’s queue on the bus', () => {
  it('one keeps 64 reads in flight: the other’s reads are all answered by the unit; the flooder gets BUSY (0x06)', async () => {
    const clock = new FakeClock();
    rig = await modbusBrokerRig({ clock, slaveDelayMs: 5 });
    const a = await rig.session([{ purpose: 'modbus.read', units: [1] }]).modbus();
    const b = await rig.session([{ purpose: 'modbus.read', units: [1] }]).modbus();
    // A: 64 reads at once (the channel's bound), and one more for each one answered by the unit.
    let id = 0;
    let flooding = true;
    a.ch.on('message', () => {
      const last = a.replies.at(-1);
      if (!flooding || last === undefined || last.refused !== undefined) return;
      a.send({ t: 'req', id: id++, unit: 1, pdu: read(0, 1) });
    });
    for (let i = 0; i < 64; i++) a.send({ t: 'req', id: id++, unit: 1, pdu: read(0, 1) });
    await waitFor(() => a.replies.length >= 40, 20_000, 'the flooder’s first replies');
    // B: 20 reads, one at a time, while A keeps the queue full.
    for (let i = 0; i < 20; i++) {
      b.send({ t: 'req', id: i, unit: 1, pdu: read(1, 1) });
      await waitFor(() => b.replies.length === i + 1, 20_000, `B's read ${i}`);
    }
    flooding = false;
    // Every one of B's reads was answered by the unit: fc 3, two bytes. Before: 0x83 0x0B for most.
    expect(b.replies.map((r) => [...r.pdu])).toEqual(Array(20).fill([3, 2, 0, 0]));
    // A was told BUSY for what did not fit in the queue, as exception 0x06.
    const busy = a.replies.filter((r) => r.refused === 'BUSY');
    expect(busy.length).toBeGreaterThan(0);
    expect(busy.every((r) => r.pdu[0] === 0x83 && r.pdu[1] === 0x06)).toBe(true);
    expect(a.replies.every((r) => r.refused === 'BUSY' || r.pdu[0] === 3)).toBe(true);
    await waitFor(() => rig!.bus.queued() === 0, 20_000, 'the flood to drain');
    await turns();
    // Audited as refused BUSY (a refusal, counted), never as a failure of the unit.
    expect(rig.audit.filter((l) => l.decision === 'failed')).toEqual([]);
    // Each BUSY is audited: the first in full, the rest counted into the session's refused.suppressed
    // line (refusal-gate.ts), written at the next summary.
    clock.advance(REFUSAL_SUMMARY_MS);
    await turns(); // audit lines are written a few turns after (audit.ts)
    const refusedBusy = rig.audit.filter((l) => l.decision === 'refused' && l.code === 'BUSY');
    const counted = refusedBusy.reduce((n, l) => n + (l.action === 'refused.suppressed' ? Number(l.suppressed) : 1), 0);
    expect(refusedBusy.filter((l) => l.action !== 'refused.suppressed').length).toBeGreaterThan(0);
    expect(counted).toBe(busy.length);
    expect(rig.broker.stats.refusals).toBe(busy.length);
  });
});
