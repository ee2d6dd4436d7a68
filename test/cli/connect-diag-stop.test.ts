// `uzpgw connect … diag --watch S` stops when the mode stops (SIGINT/SIGTERM, stdout closed, the
// session ended: src/cli/connect.ts aborts serveDiag's signal when untilDone returns). Before, the
// wait between reports was a plain timer nothing cancelled: the process lived up to S seconds
// after it was told to stop (exit 141 some 40 s after `| head -n1` with --watch 20). Here the wait
// is an hour, so only the abort can end it; the real processes are in test/gateway/diag-mode.test.ts.

import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { serveDiag } from '../../src/cli/connect-diag.js';
import { decodeDiagReport, type DiagReport } from '../../src/hil/diag-report.js';

const counters = { state: 'ok', requests: 1, replies: 1, timeouts: 0, crc_errors: 0, exceptions: 0, by_code: [] };
const REPORT = decodeDiagReport({ port: 'open', all: counters, units: [], line: { stray_frames: 0, stray_noise: 0, desyncs: 0 } });
const HOUR = 3_600_000;

function rig(onDiag: (n: number) => void = () => {}): { slot: Parameters<typeof serveDiag>[0]; io: { stdout: Writable; stderr: Writable }; lines: () => string[]; calls: () => number } {
  let out = '';
  let calls = 0;
  const w = (f: (s: string) => void): Writable => new Writable({ write: (c, _e, cb) => (f(String(c)), cb()) });
  const slot = {
    opened: { slot: 'rs485-1', mode: 'diag' as const, device: 'bus-1', driver: 'modbus-poller', purposes: ['diag.read'] },
    diag: async (): Promise<DiagReport> => {
      onDiag(++calls);
      return REPORT;
    },
  };
  return { slot, io: { stdout: w((s) => (out += s)), stderr: w(() => {}) }, lines: () => out.trim().split('\n').filter((l) => l !== ''), calls: () => calls };
}

describe('connect diag --watch stops with the mode', () => {
  it('an abort during the wait between reports ends it at once, with 0 and no further report', async () => {
    const stop = new AbortController();
    const r = rig();
    const done = serveDiag(r.slot, r.io, true, HOUR, Infinity, stop.signal);
    await expect.poll(() => r.lines().length).toBe(1);
    stop.abort();
    await expect(done).resolves.toBe(0);
    expect(r.calls()).toBe(1);
    expect(JSON.parse(r.lines()[0]!)).toMatchObject({ event: 'diag', slot: 'rs485-1', device: 'bus-1', port: 'open' });
  });

  it('an abort while a report is on its way: that report is not printed', async () => {
    const stop = new AbortController();
    const r = rig(() => stop.abort());
    await expect(serveDiag(r.slot, r.io, false, HOUR, Infinity, stop.signal)).resolves.toBe(0);
    expect(r.lines()).toEqual([]);
  });

  it('without an abort: --count reports, then 0', async () => {
    const r = rig();
    await expect(serveDiag(r.slot, r.io, true, 0, 3, new AbortController().signal)).resolves.toBe(0);
    expect(r.lines()).toHaveLength(3);
  });
});
