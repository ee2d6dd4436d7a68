// A configured serial device that does not exist is loud (issue #10): one error line when the
// outage starts, naming the path and what to check, a reminder every 60 s of the link's clock
// while it lasts, an info line when the device opens, and no reminders after. The real binding
// fails the opens (the path is really missing) and then really opens a socat PTY made at that path;
// only the retry and reminder timers run on a fake clock.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { deviceAccessProblem } from '../../src/ports/device-access.js';
import type { PortLog } from '../../src/ports/log.js';
import { SerialLink } from '../../src/ports/serial.js';
import { FakeClock, turns } from '../helpers/fake-clock.js';
import { cleanupVirtualSerial, virtualLine, waitFor } from '../virtual-serial/harness.js';

interface Line {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly obj: Record<string, unknown>;
  readonly msg: string;
}

function recorder(): PortLog & { lines: Line[]; at: (level: Line['level']) => Line[] } {
  const lines: Line[] = [];
  const rec = (level: Line['level']) => (obj: object, msg: string) => void lines.push({ level, obj: obj as Record<string, unknown>, msg });
  return { lines, at: (level) => lines.filter((l) => l.level === level), debug: rec('debug'), info: rec('info'), warn: rec('warn'), error: rec('error') };
}

const dirs: string[] = [];
afterEach(async () => {
  await cleanupVirtualSerial();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'uzp-missing-'));
  dirs.push(d);
  return d;
}

/** Advances the fake clock in steps, letting each real open attempt fail (or succeed) in between. */
async function advance(clock: FakeClock, link: SerialLink, ms: number, stepMs = 1_000): Promise<void> {
  for (let t = 0; t < ms; t += stepMs) {
    const attempts = link.stats.openFailures + link.stats.opens;
    clock.advance(stepMs);
    // A retry that fell due is a real open: wait for its outcome before time moves on.
    if (link.state === 'opening') await waitFor(() => link.stats.openFailures + link.stats.opens > attempts || link.state !== 'opening', 10_000, 'the open attempt');
    await turns(5);
  }
}

describe('a serial device that cannot be opened', () => {
  it('one error line with the path and what to check, a reminder per minute, an info line when it opens', async () => {
    const dir = tempDir();
    const path = join(dir, 'ttyMISSING');
    const clock = new FakeClock();
    const log = recorder();
    const link = new SerialLink({ path, baudRate: 19_200, clock, log, backoff: { baseMs: 100, capMs: 1_000 } }).start();
    try {
      await waitFor(() => link.stats.openFailures === 1, 10_000, 'the first open to fail');
      expect(log.at('error')).toHaveLength(1);
      const first = log.at('error')[0]!;
      expect(first.obj).toMatchObject({ path, code: 'ENOENT' });
      expect(first.msg).toContain(path);
      expect(first.msg).toMatch(/does not exist/);
      expect(first.msg).toMatch(/plugged in|config\.txt/);
      expect(link.portStatus).toMatchObject({ state: 'waiting', openError: { code: 'ENOENT' }, failedOpens: 1 });

      // 150 s of retries: many more failed opens, but only the two reminders at 60 s and 120 s.
      await advance(clock, link, 150_000);
      expect(link.stats.openFailures).toBeGreaterThan(10);
      const errors = log.at('error');
      expect(errors).toHaveLength(3);
      expect(errors[1]!.msg).toMatch(/still cannot be opened \(down 60 s\)/);
      expect(errors[2]!.msg).toMatch(/still cannot be opened \(down 120 s\)/);
      expect(link.portStatus.downForMs).toBeGreaterThanOrEqual(150_000);

      // The device appears at the path: the next retry opens it and says so at info level.
      const line = await virtualLine({ baud: 19_200, dir, name: 'ttyMISSING' });
      expect(line.path).toBe(path);
      await advance(clock, link, 2_000, 100);
      await link.whenOpen();
      const opened = log.at('info').filter((l) => l.msg.includes('opened'));
      expect(opened).toHaveLength(1);
      expect(opened[0]!.msg).toMatch(/opened after \d+ failed attempt/);
      expect(link.portStatus).toMatchObject({ state: 'open', openError: null, failedOpens: 0, downForMs: null });

      // Open: no more reminders.
      await advance(clock, link, 130_000, 10_000);
      expect(log.at('error')).toHaveLength(3);
    } finally {
      await link.close();
    }
  }, 60_000);

  it('a device lost later: a warn line for the loss, one error line when the reopen fails, not one per retry', async () => {
    const line = await virtualLine({ baud: 19_200 });
    const clock = new FakeClock();
    const log = recorder();
    const link = new SerialLink({ path: line.path, baudRate: 19_200, clock, log, backoff: { baseMs: 100, capMs: 1_000 } }).start();
    try {
      await link.whenOpen();
      expect(log.at('info').filter((l) => l.msg.includes('opened'))).toHaveLength(1);
      expect(log.at('error')).toHaveLength(0);
      await line.unplug();
      await waitFor(() => link.state !== 'open', 10_000, 'the link to notice the unplug');
      await advance(clock, link, 20_000);
      expect(link.stats.openFailures).toBeGreaterThan(5);
      expect(log.at('warn').filter((l) => l.msg.includes('device lost'))).toHaveLength(1);
      expect(log.at('error')).toHaveLength(1);
    } finally {
      await link.close();
    }
  }, 60_000);
});

describe('deviceAccessProblem', () => {
  it('names a missing path, a file that is not a tty, and passes a usable tty', async () => {
    const dir = tempDir();
    expect(deviceAccessProblem(join(dir, 'nope'))).toMatchObject({ code: 'ENOENT' });
    writeFileSync(join(dir, 'plain'), 'x');
    expect(deviceAccessProblem(join(dir, 'plain'))).toMatchObject({ code: 'ENOTTY' });
    const line = await virtualLine({ baud: 9600 });
    expect(deviceAccessProblem(line.path)).toBeUndefined();
  });
});
