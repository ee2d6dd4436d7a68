// `uzpgw connect … ui` for an operator at its session cap (sessions.per_operator 1, one `connect …
// modbus-tcp` holding it), real RN, gateway and connect processes: the gateway turns the console's
// session away (refused TOO_MANY_SESSIONS on its first channel, then CLOSE), and the console says
// so, as the other modes do, and exits 1 (docs/PROFILE.md §HIL "Sessions per operator"). Before, it
// started listening for the session's end only after attach() had opened its channels, so it never
// heard that CLOSE: it hung, serving nothing, until Ctrl-C (found by review, hilbatch ui-cap).

import { afterAll, expect, it } from 'vitest';
import { spawnCli, stopAll, stopProcess } from '../helpers/processes.js';
import { connectModbusTcp, startEquipmentGateway, type EquipmentGateway } from '../gateway/equipment-gateway.js';

let gw: EquipmentGateway | undefined;
afterAll(async () => {
  await stopAll();
  await gw?.close();
});

it('the console at the cap: TOO_MANY_SESSIONS explained, exit 1, no fresh session opened', async () => {
  gw = await startEquipmentGateway({
    config: { sessions: { per_operator: 1 } },
    slots: { 'rs485-2': { device: { id: 'bus-b', driver: 'modbus-poller', serial: { baud: 19_200 }, units: [{ unit: 1, registers: [{ name: 'r0', table: 'holding', address: 0, type: 'uint16' }] }] } } },
  });
  const P = [{ purpose: 'modbus.read' }];
  const held = await connectModbusTcp(gw.connectArgs('rs485-2', P));
  const a = gw.connectArgs('rs485-2', P);
  const i = a.indexOf('--slot');
  const ui = spawnCli(['connect', ...a.slice(0, i), ...a.slice(i + 2), 'ui', '--listen', '127.0.0.1:0']);
  // Before the fix it never exited: the test's timeout says so.
  const exit = await ui.exited;
  expect(exit.code, ui.stderr()).toBe(1);
  expect(ui.stderr()).toContain('TOO_MANY_SESSIONS');
  expect(ui.stderr()).toMatch(/already holds as many sessions at this gateway as it allows .*sessions\.per_operator.*: end one of them/);
  expect(ui.stderr()).not.toContain('opening a fresh session');
  expect(gw.audit().filter((l) => l.code === 'TOO_MANY_SESSIONS')).toHaveLength(1);
  await stopProcess(held.child);
}, 60_000);
