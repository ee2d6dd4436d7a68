// A session the gateway ends, not the operator (its Grant expired, the gateway stopped), ends
// `uzpgw connect` with exit 1, saying that the gateway ended it, why when the gateway said (the
// CLOSE reason: "grant expired") and what to do; real RN, gateway and connect processes. Before,
// every mode printed "session ended: closed by the gateway" and exited 0, against its --help ("1 ...
// the session ended with an error"), and the console `ui` took it for a gateway restart: it tried
// fresh sessions with the expired Grant until --max-wait, then exit 3.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnCli, stopAll, stopProcess, waitForJsonLine } from '../helpers/processes.js';
import { startEquipmentGateway, type EquipmentGateway } from '../gateway/equipment-gateway.js';

let gw: EquipmentGateway;

beforeAll(async () => {
  gw = await startEquipmentGateway({
    // No equipment behind the slot: the sessions only open it.
    slots: { 'rs485-2': { device: { id: 'bus-b', driver: 'modbus-poller', serial: { baud: 19_200 }, units: [{ unit: 1, registers: [{ name: 'r0', table: 'holding', address: 0, type: 'uint16' }] }] } } },
  });
}, 60_000);

afterAll(async () => {
  await stopAll();
  await gw?.close();
});

const PURPOSES = [{ purpose: 'modbus.read' }, { purpose: 'diag.read' }];
/** Long enough for a loaded machine to start `connect` and open the slot before the Grant expires. */
const GRANT_LIFE_S = 8;

function withoutSlot(args: string[]): string[] {
  const i = args.indexOf('--slot');
  return [...args.slice(0, i), ...args.slice(i + 2)];
}

function ended(stderr: string): Record<string, unknown>[] {
  return stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((v) => v.event === 'session_ended' || v.event === 'reopening');
}

describe('a session the gateway ends', () => {
  it('its Grant expired: tail and the console ui say so, with what to do, and exit 1 (ui opens no fresh session)', async () => {
    const tail = spawnCli(['connect', ...gw.connectArgs('rs485-2', PURPOSES, 'op', GRANT_LIFE_S), 'tail', '--json']);
    const ui = spawnCli(['connect', ...withoutSlot(gw.connectArgs('rs485-2', PURPOSES, 'other', GRANT_LIFE_S)), 'ui', '--listen', '127.0.0.1:0', '--max-wait', '2', '--json']);
    await waitForJsonLine(ui, (v) => v.event === 'listening');
    const [t, u] = await Promise.all([tail.exited, ui.exited]);
    for (const [child, exit] of [[tail, t], [ui, u]] as const) {
      expect(exit.code, child.stderr()).toBe(1);
      const lines = ended(child.stderr());
      expect(lines, child.stderr()).toHaveLength(1);
      expect(lines[0]).toMatchObject({ event: 'session_ended', by: 'gateway', reason: 'grant expired' });
      expect(lines[0]!.explanation).toMatch(/^your Grant expired \(\d{4}-\d\d-\d\dT[\d:]+Z\): connect again with a fresh Grant$/);
    }
    expect(tail.stderr()).toContain('"event":"connected"');
    // The gateway's side: each session ended by its Grant's expiry.
    expect(gw.audit().filter((l) => l.action === 'session.end').map((l) => l.code)).toEqual(['GRANT_EXPIRED', 'GRANT_EXPIRED']);
  }, 60_000);

  it('the gateway stopped: tail says the gateway ended the session and what to check, exit 1', async () => {
    const tail = spawnCli(['connect', ...gw.connectArgs('rs485-2', PURPOSES), 'tail']);
    await new Promise<void>((resolve, reject) => {
      const poll = setInterval(() => {
        if (tail.stderr().includes('connected: slot rs485-2')) (clearInterval(poll), resolve());
        if (tail.proc.exitCode !== null) (clearInterval(poll), reject(new Error(tail.stderr())));
      }, 50);
    });
    await stopProcess(gw.gateway);
    expect((await tail.exited).code, tail.stderr()).toBe(1);
    expect(tail.stderr()).toMatch(/session ended by the gateway: it stopped, or ended it for a reason it did not say: check your Grant's expiry \(.*\) and the gateway's audit log/);
  }, 60_000);
});
