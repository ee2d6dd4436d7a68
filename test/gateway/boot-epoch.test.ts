// The boot epoch: one higher at every start, kept next to the identity key; above the reading
// log's record of past epochs; at least the clock's seconds (and why) when it cannot be written;
// and on every reading the gateway sends (tail), after the per-device seq.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { bootEpochFileOf, nextBootEpoch } from '../../src/gateway/boot-epoch.js';
import { AuditLog } from '../../src/gateway/hil/audit.js';
import { HilBroker } from '../../src/gateway/hil/broker.js';
import type { Reading, SerialDevice } from '../../src/hil/device.js';
import { SlotChannel } from '../../src/operator/slot-channel.js';
import { sessionPair } from '../helpers/session-pair.js';

const dir = mkdtempSync(join(tmpdir(), 'uzp-epoch-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('boot epoch', () => {
  it('starts at 1 next to the identity key and goes up by one per start', () => {
    const file = bootEpochFileOf(join(dir, 'state/identity.key'));
    expect(file).toBe(join(dir, 'state/boot-epoch'));
    expect([nextBootEpoch(file).epoch, nextBootEpoch(file).epoch, nextBootEpoch(file).epoch]).toEqual([1, 2, 3]);
    expect(readFileSync(file, 'utf8')).toBe('3\n');
  });

  it('junk in the file restarts the count above the floor; an unwritable directory gives the clock\'s seconds and the reason', () => {
    const file = join(dir, 'junk-epoch');
    writeFileSync(file, 'not a number');
    expect(nextBootEpoch(file)).toEqual({ epoch: 1 });
    writeFileSync(file, 'not a number');
    // The reading log remembers epoch 7: a damaged or lost file must not bring 1 back.
    expect(nextBootEpoch(file, 7)).toEqual({ epoch: 8 });
    expect(nextBootEpoch(file, 3)).toEqual({ epoch: 9 });
    // A state "directory" that is a file cannot be written by anyone, root included. Before: epoch 0
    // at every such start, so a second run's readings were named like the first's.
    const now = Date.UTC(2026, 11, 7, 12);
    expect(nextBootEpoch(join(file, 'boot-epoch'), 0, now)).toEqual({ epoch: now / 1000, error: expect.stringMatching(/junk-epoch\/boot-epoch: E(NOTDIR|EXIST)/) });
    expect(nextBootEpoch(join(file, 'boot-epoch'), 0, now + 1000).epoch).toBe(now / 1000 + 1);
    // A clock behind the log's record: one above the record.
    expect(nextBootEpoch(join(file, 'boot-epoch'), now / 1000 + 50, now).epoch).toBe(now / 1000 + 51);
  });

  it('every reading the gateway sends carries the epoch', async () => {
    const reading: Reading = { slot: 's1', device: 'd1', kind: 'serial', seq: 0, ts: 1, value: 'x' };
    let emit: (r: Reading) => void = () => {};
    const device: SerialDevice = { slot: 's1', id: 'd1', driver: 'serial-line', kind: 'serial', onReading: (cb) => ((emit = cb), () => {}), onData: () => () => {}, write: async () => {} };
    const p = sessionPair({ purposes: [{ purpose: 'serial.read' }], slot: 's1' });
    new HilBroker({ devices: new Map([['s1', device]]), audit: AuditLog.create(new Writable({ write: (_c, _e, cb) => cb() })), epoch: 42 }).serve(p.gateway, p.grant, p.d.clock);
    const slot = await SlotChannel.open(p.operator, 's1', 'tail');
    const got = new Promise<{ epoch?: number; seq: number }>((r) => slot.once('reading', r));
    emit(reading);
    expect(await got).toMatchObject({ epoch: 42, seq: 0 });
  });
});
