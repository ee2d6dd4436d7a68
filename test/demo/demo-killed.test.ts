// `uzpgw demo` SIGKILLed (no exit hook, no finally): every process it started exits with it and
// every temporary directory it made is removed — the run's (the throwaway domain's keys),
// mosquitto's, and the demo's own generated gateway config (before, that one stayed). The demo
// runs with a TMPDIR of the test's own, so "nothing left" is exactly that directory being empty.

import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { childrenOf, killStillRunning, stillRunningAfter, type Proc } from '../helpers/orphans.js';
import { spawnCli, stopAll, waitForJsonLine } from '../helpers/processes.js';

const tmp = mkdtempSync(join(tmpdir(), 'uzp-demo-killed-'));
let orphans: Proc[] = [];

afterAll(async () => {
  killStillRunning(orphans);
  await stopAll();
  rmSync(tmp, { recursive: true, force: true });
});

/** Entries left under `dir`, waiting (bounded) for the reaper, which removes directories last. */
async function leftAfter(dir: string, maxMs: number): Promise<string[]> {
  const t0 = Date.now();
  while (readdirSync(dir).length > 0 && Date.now() - t0 < maxMs) await new Promise((r) => setTimeout(r, 100));
  return readdirSync(dir);
}

describe('uzpgw demo killed with SIGKILL', () => {
  it('its processes exit and its temporary directories, the generated config among them, are removed', async () => {
    const c = spawnCli(['demo', '--json', '--seconds', '120'], { env: { ...process.env, TMPDIR: tmp } });
    await waitForJsonLine(c, (v) => v.event === 'reading');
    const kids = childrenOf(c.pid);
    orphans = kids;
    expect(kids.some((k) => / gateway --/.test(k.args))).toBe(true);
    expect(readdirSync(tmp).some((n) => n.startsWith('uzpgw-demo-config-'))).toBe(true);
    process.kill(c.pid, 'SIGKILL');
    await c.exited;
    expect((await stillRunningAfter(kids, 20_000)).map((k) => `${k.pid} ${k.args}`)).toEqual([]);
    expect(await leftAfter(tmp, 20_000)).toEqual([]);
  }, 60_000);
});
