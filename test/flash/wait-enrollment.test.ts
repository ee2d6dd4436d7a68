// `uzpgw gateway --wait-enrollment` on a board that is not enrolled yet: one JSON log line naming
// the missing files, a clean exit 0 on SIGTERM (sent to its own pid), and it stops waiting as soon
// as the files appear. Without the flag, missing files still fail the start as before.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnCli, stopAll, stopProcess, waitForJsonLine } from '../helpers/processes.js';
import { runCli } from './run.js';

const tmp = mkdtempSync(join(tmpdir(), 'uzp-wait-enroll-'));
afterAll(async () => {
  await stopAll();
  rmSync(tmp, { recursive: true, force: true });
});

function writeConfig(dir: string): string {
  mkdirSync(join(dir, 'state'), { recursive: true });
  const file = join(dir, 'gateway.json');
  writeFileSync(
    file,
    JSON.stringify({
      kind: 'uzp-gw/gateway-config',
      identity: { key: 'state/identity.key', pcert: 'state/identity.pcert' },
      trust: { anchor: 'trust/trust.json', rn_set: 'trust/rn-set.uzp' },
      board: 'rpi-4b',
      slots: { uart0: { device: { id: 'serial-1', driver: 'serial-raw', serial: { baud: 9600 } } } },
    }),
  );
  return file;
}

describe('uzpgw gateway --wait-enrollment', () => {
  it('logs the missing enrollment files once and exits 0 on SIGTERM', async () => {
    const dir = join(tmp, 'a');
    const config = writeConfig(dir);
    const child = spawnCli(['gateway', '--config', config, '--wait-enrollment']);
    const line = await waitForJsonLine<{ event: string; missing: string[] }>(child, (v) => v.event === 'gateway.waiting_enrollment');
    expect(line.missing).toEqual([join(dir, 'state/identity.pcert'), join(dir, 'trust/trust.json'), join(dir, 'trust/rn-set.uzp')]);
    const exit = await stopProcess(child, 'SIGTERM');
    expect(exit, child.stderr()).toEqual({ code: 0, signal: null });
    expect(child.stdout().split('\n').filter((l) => l.includes('gateway.waiting_enrollment'))).toHaveLength(1);
  });

  it('stops waiting when the files appear', async () => {
    const dir = join(tmp, 'b');
    const config = writeConfig(dir);
    const child = spawnCli(['gateway', '--config', config, '--wait-enrollment']);
    await waitForJsonLine(child, (v) => v.event === 'gateway.waiting_enrollment');
    mkdirSync(join(dir, 'trust'), { recursive: true });
    // Placeholder files end the wait; the full start that follows refuses the config (there is no
    // identity key here), which shows the gateway went on past the wait.
    for (const f of ['state/identity.pcert', 'trust/trust.json', 'trust/rn-set.uzp']) writeFileSync(join(dir, f), 'x');
    await waitForJsonLine(child, (v) => v.event === 'gateway.enrollment_complete');
    const exit = await child.exited;
    expect(exit.code, child.stderr()).toBe(1);
    expect(child.stderr()).not.toMatch(/unexpected error/);
  });

  it('without the flag, a missing PCert still fails the start (exit 1)', async () => {
    const config = writeConfig(join(tmp, 'c'));
    const r = await runCli(['gateway', '--config', config]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/identity\.pcert/);
    expect(r.out).not.toMatch(/waiting_enrollment/);
  });
});
