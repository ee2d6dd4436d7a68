// `uzpgw demo --json | head -n1`: the reader of stdout goes away while the demo runs. The demo stops
// as on Ctrl-C (its RN, gateway, operators and socat stopped by pid) and exits 141 without a word
// on stderr (README "Exit status"). Before: an unhandled EPIPE 'error' event, a stack trace, exit 1,
// and the children left to notice their parent's death on their own.

import { afterAll, describe, expect, it } from 'vitest';
import { childrenOf, killStillRunning, stillRunningAfter, type Proc } from '../helpers/orphans.js';
import { spawnCli, stopAll } from '../helpers/processes.js';

/** Hang guards, not timing claims: start-up on a loaded machine, and the stop. */
const START_GUARD_MS = 45_000;
const STOP_GUARD_MS = 20_000;

let children: Proc[] = [];
afterAll(async () => {
  killStillRunning(children);
  await stopAll();
});

describe('uzpgw demo with its stdout closed early', () => {
  it('stops everything it started, no stack trace, exit 141', async () => {
    const c = spawnCli(['demo', '--json', '--seconds', '300', '--no-mosquitto']);
    // Running: a reading came through, so the RN, the gateway, socat and the operators are up.
    await new Promise<void>((resolve, reject) => {
      const guard = setTimeout(() => reject(new Error(`no reading within ${START_GUARD_MS} ms: ${c.stderr()}`)), START_GUARD_MS);
      const check = (): void => {
        if (!c.stdout().includes('"event":"reading"')) return;
        clearTimeout(guard);
        resolve();
      };
      c.proc.stdout!.on('data', check);
      void c.exited.then(() => reject(new Error(`demo exited early: ${c.stderr()}`)));
    });
    children = childrenOf(c.pid);
    expect(children.length).toBeGreaterThanOrEqual(5); // rn, gateway, three operators (and socat)
    c.proc.stdout!.destroy();
    const exit = await Promise.race([c.exited, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`demo did not exit: ${c.stderr()}`)), STOP_GUARD_MS).unref())]);
    expect(exit, c.stderr()).toEqual({ code: 141, signal: null });
    expect(c.stderr()).not.toMatch(/Unhandled|EPIPE|^\s+at /m);
    expect((await stillRunningAfter(children, STOP_GUARD_MS)).map((p) => p.args)).toEqual([]);
  }, 120_000);
});
