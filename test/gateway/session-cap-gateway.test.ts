// The per-operator session cap in a real `uzpgw gateway` process, with `"sessions": {"per_operator": 1}`
// in its config, through a real RN and real `uzpgw connect` processes: the operator's second session
// is refused and `connect` says why and what to do; another operator connects meanwhile (found by
// the operator review: 100 sessions x 64 log tails of one operator took the gateway from 83 to 376 MiB).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnCli, stopAll, stopProcess, waitForJsonLine } from '../helpers/processes.js';
import { waitFor } from '../virtual-serial/harness.js';
import { connectModbusTcp, startEquipmentGateway, type EquipmentGateway } from './equipment-gateway.js';

let gw: EquipmentGateway;

beforeAll(async () => {
  gw = await startEquipmentGateway({
    config: { sessions: { per_operator: 1 } },
    // No equipment behind the slot: opening it in modbus mode is all these sessions do.
    slots: { 'rs485-2': { device: { id: 'bus-b', driver: 'modbus-poller', serial: { baud: 19_200 }, units: [{ unit: 1, registers: [{ name: 'r0', table: 'holding', address: 0, type: 'uint16' }] }] } } },
  });
}, 60_000);

afterAll(async () => {
  await stopAll();
  await gw?.close();
});

const PURPOSES = [{ purpose: 'modbus.read' }];

describe('sessions per operator (sessions.per_operator)', () => {
  it("an operator's session beyond the cap is refused: `uzpgw connect` says TOO_MANY_SESSIONS and what to do, exit 1; another operator still connects", async () => {
    const held = await connectModbusTcp(gw.connectArgs('rs485-2', PURPOSES));
    const second = spawnCli(['connect', ...gw.connectArgs('rs485-2', PURPOSES), 'modbus-tcp', '--listen', '127.0.0.1:0']);
    // It ends before its Modbus TCP endpoint listens (a served session would listen).
    expect(await waitForJsonLine(second, (v) => v.event === 'listening').then(() => 'listening', () => 'ended')).toBe('ended');
    expect((await second.exited).code).toBe(1);
    expect(second.stderr()).toContain('TOO_MANY_SESSIONS');
    expect(second.stderr()).toMatch(/already holds as many sessions at this gateway as it allows .*sessions\.per_operator.*: end one of them/);
    const other = await connectModbusTcp(gw.connectArgs('rs485-2', PURPOSES, 'other'));
    await waitFor(() => gw.audit().some((l) => l.code === 'TOO_MANY_SESSIONS'), 10_000, 'the audit line');
    expect(gw.audit().filter((l) => l.code === 'TOO_MANY_SESSIONS').map((l) => [l.action, l.decision])).toEqual([['session', 'refused']]);
    expect(gw.audit().filter((l) => l.action === 'open.modbus' && l.decision === 'allowed')).toHaveLength(2);
    // The first operator's session ends: its next one is served.
    await stopProcess(held.child);
    await waitFor(() => gw.audit().filter((l) => l.action === 'session.close').length === 1, 10_000, 'the first session closed');
    const again = await connectModbusTcp(gw.connectArgs('rs485-2', PURPOSES));
    await stopProcess(again.child);
    await stopProcess(other.child);
  });
});
