// `hil run` SIGKILLed (no exit hook runs): the RN and the gateway it started exit with it, through
// the stdin pipe they watch (src/lib/parent-watch.ts). Before, both ran on, holding the RN's port
// and the gateway's PTY paths. (socat and mosquitto are not covered: the test stops them itself.)

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startHilRun, writeScenario } from '../helpers/hil-run.js';
import { pidAlive, stopAll, waitForJsonLine } from '../helpers/processes.js';

const dir = mkdtempSync(join(tmpdir(), 'uzpgw-hil-parent-test-'));
let orphans: number[] = [];

afterAll(async () => {
  for (const pid of orphans) if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
});

function childrenOf(parent: number): { pid: number; args: string }[] {
  const out = execFileSync('ps', ['--ppid', String(parent), '-o', 'pid=,args='], { encoding: 'utf8' }).trim();
  return out.split('\n').filter((l) => l.trim() !== '').map((l) => ({ pid: Number(l.trim().split(/\s+/)[0]), args: l.trim().replace(/^\d+\s+/, '') }));
}

/** Resolves once none of `pids` is alive; a hang guard of `maxMs`, not a timing claim. */
async function gone(pids: readonly number[], maxMs: number): Promise<number[]> {
  const t0 = Date.now();
  while (pids.some(pidAlive) && Date.now() - t0 < maxMs) await new Promise((r) => setTimeout(r, 100));
  return pids.filter(pidAlive);
}

describe('hil run killed with SIGKILL', () => {
  it('its RN and gateway exit with it', async () => {
    const child = startHilRun(writeScenario(dir, 'long', [{ expect: 'readings', slot: 'tty-1', min: 1 }, { wait_ms: 600_000 }]));
    await waitForJsonLine(child, (v) => v.event === 'step' && v.step === 1);
    const kids = childrenOf(child.pid);
    const node = kids.filter((k) => / (rn|gateway) --/.test(k.args)).map((k) => k.pid);
    orphans = kids.map((k) => k.pid);
    expect(node).toHaveLength(2);
    process.kill(child.pid, 'SIGKILL');
    await child.exited;
    expect(await gone(node, 20_000)).toEqual([]);
  }, 60_000);
});
