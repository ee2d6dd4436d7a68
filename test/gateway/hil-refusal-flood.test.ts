// One operator flooding the HIL with junk frames, against a real RN and `uzpgw gateway` process with
// two baud-paced RTU lines (found by review: an operator with a narrow read Grant sending 1-byte
// junk frames kept the gateway at 100% CPU, every frame answered and audited, and the reading log
// recorded nothing on any slot during the flood and for 4 s after). Now the session is answered up
// to its refusal budget, then ended (TOO_MANY_REFUSALS), what it still sends is not read, its audit
// is a handful of lines, and another operator's tail of the other slot keeps getting readings.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REFUSALS_PER_S } from '../../src/gateway/hil/refusal-budget.js';
import { connectOperator, type OperatorConnection } from '../../src/operator/connect.js';
import { SlotChannel } from '../../src/operator/slot-channel.js';
import { ModbusRtuBus } from '../../src/sim/modbus-rtu-bus.js';
import { VirtualLine } from '../../src/sim/virtual-line.js';
import { fromHex, toHex } from '../../src/uzp/bytes.js';
import type { GrantScope } from '../../src/uzp/artefacts/types.js';
import { stopAll } from '../helpers/processes.js';
import { waitFor } from '../virtual-serial/harness.js';
import { startEquipmentGateway, type EquipmentGateway } from './equipment-gateway.js';

const BAUD = 19_200;
const lines: VirtualLine[] = [];
const sims: ModbusRtuBus[] = [];
const conns: OperatorConnection[] = [];
let gw: EquipmentGateway;

function bus(id: string): Record<string, unknown> {
  // A generous timeout: this test is about the flood, not timing, on a shared CI box.
  return { device: { id, driver: 'modbus-poller', serial: { baud: BAUD }, timeout_ms: 2000, units: [{ unit: 1, registers: [{ name: 'r0', table: 'holding', address: 0, type: 'uint16', poll_interval_ms: 100 }] }] } };
}

beforeAll(async () => {
  gw = await startEquipmentGateway({
    slots: { 'rs485-1': bus('bus-a'), 'rs485-2': bus('bus-b') },
    before: async (f) => {
      for (const name of ['rs485-1', 'rs485-2']) {
        const line = await VirtualLine.open({ baud: BAUD, dir: f('pty'), name });
        lines.push(line);
        sims.push(new ModbusRtuBus(line.device!, { baud: BAUD, slaves: [{ unit: 1, holdingRegisters: Array.from({ length: 10 }, (_, i) => 100 + i) }] }));
      }
    },
  });
}, 60_000);

afterAll(async () => {
  for (const c of conns) c.close();
  for (const s of sims) s.close();
  for (const l of lines) await l.close();
  await stopAll();
  await gw?.close();
});

/** An operator session under a Grant of these scopes (the files startEquipmentGateway wrote). */
async function operator(scopes: GrantScope[]): Promise<OperatorConnection> {
  const flags = gw.grantFlags(scopes);
  const grant = flags[flags.indexOf('--grant') + 1]!;
  const c = await connectOperator({ key: gw.f('op.key'), pcert: gw.f('op.pcert'), trust: gw.f('trust.json'), rnSet: gw.f('rn-set.uzp'), grant }, fromHex(gw.cid), { maxWaitMs: 5000 });
  conns.push(c);
  return c;
}

describe('an operator flooding junk frames', () => {
  it('is answered up to its refusal budget, then its session is ended and the rest not read; the other slot keeps its readings', async () => {
    const b = await operator([{ slot: 'rs485-2', purposes: [{ purpose: 'modbus.read' }] }]);
    const tail = await SlotChannel.open(b.session, 'rs485-2', 'tail');
    let readings = 0;
    tail.on('reading', () => readings++);
    await waitFor(() => readings >= 3, 20_000, "the first readings of rs485-2's tail");

    const a = await operator([{ slot: 'rs485-1', purposes: [{ purpose: 'modbus.read', units: [1] }] }]);
    let ended = false;
    a.session.once('close', () => (ended = true));
    const ch = a.session.openChannel();
    let answered = 0;
    ch.on('message', () => answered++);
    const N = 20_000;
    try {
      // send() waits for room in the session's window, as a flooding client would.
      for (let i = 0; i < N; i++) await ch.send(Uint8Array.of(0xff));
    } catch {
      // The session closed under the flood: what we meant to show.
    }
    await waitFor(() => ended, 20_000, "A's session ended by the gateway");
    const atEnd = readings;

    // Bounded: about one second's budget answered (it refills while the first are answered), far below N.
    expect(answered).toBeGreaterThanOrEqual(REFUSALS_PER_S);
    expect(answered).toBeLessThanOrEqual(2 * REFUSALS_PER_S);

    // The audit of A's session: a handful of lines, the end with its stable code among them.
    const grantA = toHex(a.grant.objectId);
    await waitFor(() => gw.audit().some((l) => l.grant === grantA && l.action === 'session.close'), 10_000, "A's session.close audit line");
    const ofA = gw.audit().filter((l) => l.grant === grantA);
    expect(ofA.find((l) => l.action === 'session.end')).toMatchObject({ decision: 'refused', code: 'TOO_MANY_REFUSALS' });
    // The first junk frame in full, and the one that found the budget spent (budget: 'spent').
    expect(ofA.filter((l) => l.action === 'frame' && l.budget === undefined)).toHaveLength(1);
    expect(ofA.filter((l) => l.action === 'frame' && l.budget === 'spent')).toHaveLength(1);
    expect(ofA.length).toBeLessThanOrEqual(9);

    // The gateway's own polling of the other slot goes on: B's tail keeps getting readings.
    await waitFor(() => readings >= atEnd + 5, 20_000, 'five more readings of rs485-2 after the flood');
    expect(b.session.state).toBe('stitched');
  }, 90_000);
});
