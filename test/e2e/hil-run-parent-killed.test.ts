// `hil run` SIGKILLed (no exit hook runs; a CI job timeout does this): every process it started
// exits with it. The RN and the gateway watch a stdin pipe (src/lib/parent-watch.ts); socat and
// mosquitto, foreign binaries that cannot, are stopped by the runner's reaper (src/lib/reaper.ts),
// which does not stay behind itself, and which then removes the temporary directories the run
// made. Before the reaper, mosquitto (and a socat whose ends the runner did not hold) ran on
// forever, and the run's directory, with the throwaway domain's root key, stayed.

import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startHilRun, writeScenario } from '../helpers/hil-run.js';
import { childrenOf, killStillRunning, stillRunningAfter, type Proc } from '../helpers/orphans.js';
import { stopAll, waitForJsonLine } from '../helpers/processes.js';

const dir = mkdtempSync(join(tmpdir(), 'uzpgw-hil-parent-test-'));
let orphans: Proc[] = [];
let runDirs: string[] = [];

afterAll(async () => {
  killStillRunning(orphans);
  for (const d of runDirs) rmSync(d, { recursive: true, force: true });
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
});

describe('hil run killed with SIGKILL', () => {
  it('every process it started exits with it (RN, gateway, socat, mosquitto, its reaper) and its directories are removed', async () => {
    // The example config has three serial slots (socat PTYs) and an MQTT slot (mosquitto).
    const child = startHilRun(writeScenario(dir, 'long', [{ expect: 'readings', slot: 'tty-1', min: 1 }, { wait_ms: 600_000 }]));
    const note = await waitForJsonLine(child, (v) => v.event === 'note' && String(v.text).startsWith('throwaway trust domain in '));
    await waitForJsonLine(child, (v) => v.event === 'step' && v.step === 1);
    const kids = childrenOf(child.pid);
    orphans = kids;
    const named = (re: RegExp): Proc[] => kids.filter((k) => re.test(k.args));
    expect(named(/ (rn|gateway) --/)).toHaveLength(2);
    expect(named(/^socat /).length).toBeGreaterThanOrEqual(3);
    expect(named(/mosquitto -c /)).toHaveLength(1);
    // The run's directory (it holds the throwaway domain's root key) and mosquitto's config directory.
    const dirs = [String(note.text).slice('throwaway trust domain in '.length), dirname(named(/mosquitto -c /)[0]!.args.split(' ')[2]!)];
    runDirs = dirs;
    expect(dirs.map(existsSync)).toEqual([true, true]);
    process.kill(child.pid, 'SIGKILL');
    await child.exited;
    expect((await stillRunningAfter(kids, 20_000)).map((k) => `${k.pid} ${k.args}`)).toEqual([]);
    // The reaper was one of them: it did its work (the directories last) and is gone too.
    expect(named(/reaper-main\.js$/)).toHaveLength(1);
    expect(dirs.filter(existsSync)).toEqual([]);
  }, 60_000);
});
