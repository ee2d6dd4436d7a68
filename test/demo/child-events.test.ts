// Which lines of the demo's children become events in the human view, and how they read: the
// gateway's audit refusals and warnings, the RN's warnings, an operator's status lines and its
// final error line (taken from the real CLI, so a change of its format shows up here).

import { describe, expect, it } from 'vitest';
import { logEvent, operatorEvent } from '../../src/demo/child-events.js';
import { spawnCli } from '../helpers/processes.js';

describe('demo events from child output', () => {
  it('gateway audit: refusals and failures are events, allowed actions are not', () => {
    const refused = { level: 40, time: 't', audit: true, operator: 'ab', grant: 'cd', slot: 'rs485-1', device: 'th-bus-1', action: 'open.modbus', decision: 'refused', code: 'PURPOSE_NOT_GRANTED', reason: 'modbus needs modbus.read', msg: 'open.modbus' };
    expect(logEvent('gateway', refused)).toEqual({ kind: 'refused', text: 'gateway refused open.modbus on rs485-1 (PURPOSE_NOT_GRANTED: modbus needs modbus.read)' });
    expect(logEvent('gateway', { ...refused, decision: 'failed', code: 'DEVICE_TIMEOUT', reason: 'unit 3 did not answer' })).toEqual({ kind: 'error', text: 'gateway failed open.modbus on rs485-1 (DEVICE_TIMEOUT: unit 3 did not answer)' });
    expect(logEvent('gateway', { ...refused, level: 30, decision: 'allowed', code: undefined, reason: undefined })).toBeUndefined();
  });

  it('RN and gateway log records: warn and error are events (refusals marked), info is not', () => {
    expect(logEvent('gateway', { level: 30, event: 'rn.attached', msg: 'attached to RN' })).toBeUndefined();
    expect(logEvent('gateway', { level: 40, event: 'session.refused', code: 'GRANT_EXPIRED', reason: 'the Grant expired', msg: 'session refused' })).toEqual({ kind: 'refused', text: 'gateway: session refused [session.refused] (GRANT_EXPIRED: the Grant expired)' });
    expect(logEvent('gateway', { level: 50, event: 'device.start_failed', slot: 'tty-1', error: 'ENOENT /dev/ttyUSB0', msg: 'device failed to start' })).toEqual({ kind: 'error', text: 'gateway: device failed to start [device.start_failed] (ENOENT /dev/ttyUSB0)' });
    expect(logEvent('rn', { level: 40, event: 'slow_link', link: 3, msg: 'control queue overflow: closing the slow link' })).toEqual({ kind: 'warn', text: 'rn: control queue overflow: closing the slow link [slow_link]' });
  });

  it('operator status lines (connect --json): connected is shown, a refusal marked', () => {
    const connected = JSON.stringify({ event: 'connected', slot: 'tty-1', device: 'sensor-7', driver: 'serial-line', purposes: ['serial.read'], grant_expires_at: '2026-01-01T00:00:00Z' });
    expect(operatorEvent('tty-1', connected)).toEqual({ kind: 'info', text: 'operator tty-1 connected: device sensor-7 (serial-line), purposes serial.read' });
    expect(operatorEvent('tty-1', JSON.stringify({ event: 'refused', code: 'PURPOSE_NOT_GRANTED', reason: 'your Grant covers rs485-1' }))).toEqual({ kind: 'refused', text: 'operator tty-1: your Grant covers rs485-1 (PURPOSE_NOT_GRANTED)' });
    expect(operatorEvent('tty-1', JSON.stringify({ event: 'attestation_passed', checks: 5, slots: 3 }))).toBeUndefined();
    expect(operatorEvent('tty-1', 'some stack trace line')).toBeUndefined();
  });

  it("an operator's final error line: a refusal code is a refusal, anything else an error (the real CLI's format)", async () => {
    // As the demo runs its operators: --json, the mode word last. The error line names the command as run.
    const c = spawnCli(['connect', '--json', '--key', '/nonexistent', '--pcert', '/x', '--trust', '/y', '--rn-set', '/z', '--grant', '/g', '--gateway', '00'.repeat(32), '--slot', 'tty-1', 'tail']);
    expect((await c.exited).code).toBe(1);
    const line = c.stderr().trim().split('\n').at(-1)!;
    // The flag comes first (errors name the flag and the file): the message still starts after the command words.
    expect(line).toMatch(/^uzpgw connect tail: --key \/nonexistent: .+ \[FILE_NOT_FOUND\]$/);
    expect(operatorEvent('tty-1', line)).toEqual({ kind: 'error', text: `operator tty-1: ${line.slice('uzpgw connect tail: '.length)}` });
    expect(operatorEvent('tty-1', 'uzpgw connect tail: open tail on tty-1: your Grant covers rs485-1 (the gateway said SLOT_NOT_GRANTED) [HIL_REFUSED]')).toEqual({
      kind: 'refused',
      text: 'operator tty-1: open tail on tty-1: your Grant covers rs485-1 (the gateway said SLOT_NOT_GRANTED) [HIL_REFUSED]',
    });
    expect(operatorEvent('tty-1', 'uzpgw connect tail: join refused by the RN (code 1) [JOIN_REFUSED]')?.kind).toBe('refused');
  });
});
