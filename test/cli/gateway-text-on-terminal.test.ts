// What a gateway sends reaches an operator's terminal inert (src/lib/terminal-text.ts): the words
// of a `connect … diag` report (the decoder checks their length only), a refusal code and the
// topics a bridge carries in `connect` status lines, and whatever an error line quotes. Before,
// `connect … diag` printed a report's ESC sequences raw: a gateway could clear the operator's
// screen, retitle the window or hide text.

import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { renderAppraisal } from '../../src/cli/attest-common.js';
import { diagText } from '../../src/cli/connect-diag.js';
import { notice } from '../../src/cli/connect-serve.js';
import { main } from '../../src/cli/dispatch.js';
import { decodeDiagReport } from '../../src/hil/diag-report.js';
import { explainRefusal } from '../../src/operator/grant-text.js';

const ESC = '\u001b';
const counters = { state: 'ok', requests: 1, replies: 1, timeouts: 0, crc_errors: 0, exceptions: 0, by_code: [] };

function sink(): { io: { stdout: Writable; stderr: Writable }; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  const w = (f: (s: string) => void): Writable => new Writable({ write: (c, _e, cb) => (f(String(c)), cb()) });
  return { io: { stdout: w((s) => (out += s)), stderr: w((s) => (err += s)) }, out: () => out, err: () => err };
}

describe('gateway text on a terminal', () => {
  it('a diag report with escape sequences in its words prints no ESC byte', () => {
    const report = decodeDiagReport({
      port: `${ESC}[2J${ESC}[Hopen`,
      all: counters,
      units: [{ unit: 1, name: `${ESC}]0;owned\u0007boiler`, polled: true, ...counters, state: 'timeout', wrong_unit: 0, mismatched: 0, stale: 0, offline: 0, queue_full: 0, silent: 0, last_error: `${ESC}[8mhidden\u009b` }],
      line: { stray_frames: 0, stray_noise: 0, desyncs: 0 },
    });
    const text = diagText(`rs485-1${ESC}[1A`, 'bus-1', report);
    expect(text).not.toContain(ESC);
    expect(text).not.toContain('\u009b');
    expect(text).not.toContain('\u0007');
    // Still says what the report says, each control shown as ·.
    expect(text).toContain('slot rs485-1·[1A, device bus-1: port ·[2J·[Hopen');
    expect(text).toContain('unit 1 (·]0;owned·boiler)');
    expect(text).toContain('last error ·[8mhidden·');
    // One line per part, as before: a unit name cannot add lines either.
    expect(text.split('\n')).toHaveLength(4);
  });

  it('a refusal notice shows the code and bridged topics printable; with --json, as escapes', () => {
    const code = `NOPE${ESC}[2J`;
    const why = explainRefusal('TOPIC_NOT_BRIDGED', { scopes: [] } as never, 'mqtt-1', [`plant/${ESC}]0;x\u0007`, 'a/\u202eb']);
    const human = sink();
    notice(human.io, false, { event: 'refused', code, reason: why }, `refused: ${why} (${code})`);
    expect(human.err()).toBe('refused: topic not bridged on mqtt-1; bridged: plant/·]0;x·, a/·b (NOPE·[2J)\n');
    const json = sink();
    notice(json.io, true, { event: 'refused', code, reason: why }, `refused: ${why} (${code})`);
    expect(json.err()).not.toMatch(/[\u001b\u0007\u202e]/);
    expect(JSON.parse(json.err())).toEqual({ event: 'refused', code, reason: why });
  });

  it('an error line shows what it quotes printable', async () => {
    const s = sink();
    const code = await main(['status', '--state', `/nonexistent/${ESC}]0;owned\u0007${ESC}[2Jstatus.json`], s.io);
    expect(code).toBe(1);
    expect(s.err()).not.toContain(ESC);
    expect(s.err()).toContain('/nonexistent/·]0;owned··[2Jstatus.json');
  });
  it('an appraisal quoting the evidence (slot ids, device names) prints no ESC byte, in text or JSON', () => {
    const result = {
      ok: false,
      gateway: 'ab'.repeat(32),
      claims: [{ claim: 'board', status: 'fail' as const, reason: `board "${ESC}]0;owned\u0007x", expected "rpi-4b"` }],
      slots: [{ slot: `tty${ESC}[2J`, status: 'fail' as const, checks: [{ claim: 'device', status: 'fail' as const, reason: `device "${ESC}[8mhidden\u2028"` }] }],
    };
    const text = renderAppraisal(result, false);
    expect(text).not.toMatch(/[\u001b\u0007\u2028]/);
    expect(text.split('\n')).toHaveLength(5); // one line per check, as before: no line broken or joined
    expect(text).toContain('slot tty·[2J: FAIL');
    const json = renderAppraisal(result, true);
    expect(json).not.toMatch(/[\u001b\u0007\u2028]/);
    expect(JSON.parse(json)).toEqual(result);
  });
});
