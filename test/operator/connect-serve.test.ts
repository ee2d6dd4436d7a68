// What `uzpgw connect` prints per mode: --count N prints exactly N even when more arrive in one go;
// tail and mqtt print bytes under a _hex key, so text that looks like hex is not taken for bytes;
// --pty with a path socat cannot create exits non-zero with the reason; serial forwards stdin in
// order, one write at a time, and lets go of stdin when the slot ends; serial bytes a local reader
// does not take (stdout, a PTY nobody opened) are dropped past a bound, counted and reported; a
// --pty path socat would misread is a usage error.

import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { forwardInOrder, SERIAL_OUT_MAX_QUEUED, serveMqtt, servePty, serveStdio, serveTail } from '../../src/cli/connect-serve.js';
import type { SlotChannel } from '../../src/operator/slot-channel.js';
import { runCli } from '../helpers/cli-run.js';
import { errorOf } from '../helpers/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'uzp-serve-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function capture(): { io: { stdout: Writable; stderr: Writable }; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  const sink = (f: (s: string) => void): Writable => new Writable({ write: (c, _e, cb) => (f(String(c)), cb()) });
  return { io: { stdout: sink((s) => (out += s)), stderr: sink((s) => (err += s)) }, out: () => out, err: () => err };
}

describe('connect modes', () => {
  it('tail --count 2 prints exactly 2 readings when 5 arrive in one go', async () => {
    const slot = new EventEmitter() as unknown as SlotChannel;
    const c = capture();
    const done = serveTail(slot, c.io, 2);
    for (let seq = 1; seq <= 5; seq++) slot.emit('reading', { t: 'reading', slot: 's', device: 'd', kind: 'serial', seq, ts: 0, value: 'x' });
    expect(await done).toBe(0);
    expect(c.out().trim().split('\n').map((l) => JSON.parse(l).seq)).toEqual([1, 2]);
  });

  it('tail: a byte string prints as hex under a _hex key, so a text value that looks like hex is not mistaken for bytes', async () => {
    const slot = new EventEmitter() as unknown as SlotChannel;
    const c = capture();
    const done = serveTail(slot, c.io, 6);
    const reading = (seq: number, kind: string, value: unknown): void => void slot.emit('reading', { t: 'reading', slot: 's', device: 'd', kind, seq, ts: 0, value });
    const bytes = Uint8Array.of(0xde, 0xad, 0xbe, 0xef);
    reading(1, 'mqtt', { topic: 'a/text', payload: 'deadbeef' });
    reading(2, 'mqtt', { topic: 'a/bytes', payload: bytes });
    reading(3, 'serial', { bytes: Uint8Array.of(0x41, 0x00) });
    reading(4, 'serial', bytes);
    // No driver sends these: a byte string with no key to mark, or whose marked key is taken.
    reading(5, 'mqtt', { list: ['deadbeef', bytes], nested: { b: bytes } });
    reading(6, 'mqtt', { payload: bytes, payload_hex: 'deadbeef' });
    expect(await done).toBe(0);
    const lines = c.out().trim().split('\n');
    // Before: "payload":"deadbeef" for both the text and the bytes.
    expect(lines[0]).toContain('"value":{"topic":"a/text","payload":"deadbeef"}');
    expect(lines[1]).toContain('"value":{"topic":"a/bytes","payload_hex":"deadbeef"}');
    expect(lines.map((l) => JSON.parse(l)).map((l) => ('value' in l ? { value: l.value } : { value_hex: l.value_hex }))).toEqual([
      { value: { topic: 'a/text', payload: 'deadbeef' } },
      { value: { topic: 'a/bytes', payload_hex: 'deadbeef' } },
      { value: { bytes_hex: '4100' } },
      { value_hex: 'deadbeef' },
      { value: { list: ['deadbeef', { hex: 'deadbeef' }], nested: { b_hex: 'deadbeef' } } },
      { value: { payload: { hex: 'deadbeef' }, payload_hex: 'deadbeef' } },
    ]);
  });

  it('mqtt --count 1 prints exactly 1 message', async () => {
    const slot = Object.assign(new EventEmitter(), { subscribe: async () => {}, publish: async () => {} }) as unknown as SlotChannel;
    const c = capture();
    const done = serveMqtt(slot, ['a/#'], [], c.io, 1);
    await new Promise((r) => setImmediate(r));
    for (const t of ['a/1', 'a/2', 'a/3']) slot.emit('msg', t, Buffer.from('p'));
    expect(await done).toBe(0);
    expect(c.out().trim().split('\n')).toHaveLength(1);
  });

  it('mqtt: a text payload is "payload", other bytes "payload_hex", so text that looks like hex is not mistaken for bytes', async () => {
    const slot = Object.assign(new EventEmitter(), { subscribe: async () => {}, publish: async () => {} }) as unknown as SlotChannel;
    const c = capture();
    const done = serveMqtt(slot, ['a/#'], [], c.io, 5);
    await new Promise((r) => setImmediate(r));
    slot.emit('msg', 'a/text', Buffer.from('deadbeef'));
    slot.emit('msg', 'a/bytes', Uint8Array.of(0xde, 0xad, 0xbe, 0xef));
    slot.emit('msg', 'a/json', Buffer.from('{"t": 21.4,\n "unit": "°C"}'));
    slot.emit('msg', 'a/nul', Uint8Array.of(0x41, 0x00));
    slot.emit('msg', 'a/empty', new Uint8Array(0));
    expect(await done).toBe(0);
    expect(c.out().trim().split('\n').map((l) => JSON.parse(l))).toEqual([
      { event: 'message', topic: 'a/text', payload: 'deadbeef' },
      { event: 'message', topic: 'a/bytes', payload_hex: 'deadbeef' },
      // UTF-8 text with a newline is text, as in the gateway's readings (it was hex: printable ASCII only)
      { event: 'message', topic: 'a/json', payload: '{"t": 21.4,\n "unit": "°C"}' },
      { event: 'message', topic: 'a/nul', payload_hex: '4100' },
      { event: 'message', topic: 'a/empty', payload: '' },
    ]);
  });

  it('serial: stdin goes to the slot in order, one write at a time, stdin paused while a write waits', async () => {
    const from = new PassThrough();
    const started: number[] = [];
    let inFlight = 0;
    let most = 0;
    let pausedDuringWrites = true;
    // A large chunk waits longer for room than a small one (a full send buffer admits small ones first).
    const slot = {
      write: async (d: Uint8Array): Promise<void> => {
        started.push(d.length);
        most = Math.max(most, ++inFlight);
        await new Promise((r) => setTimeout(r, d.length > 1000 ? 30 : 1));
        if (!from.isPaused()) pausedDuringWrites = false;
        inFlight--;
      },
    };
    forwardInOrder(from, slot, () => {
      throw new Error('no write fails here');
    });
    from.write(Buffer.alloc(5000));
    await new Promise((r) => setImmediate(r));
    from.write(Buffer.alloc(10));
    from.write(Buffer.alloc(20));
    for (let i = 0; i < 100 && started.length < 3; i++) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 20));
    // Before: each chunk was written on its own, unawaited: 10 and 20 went out before 5000.
    expect(started[0]).toBe(5000);
    expect(started.slice(1).reduce((a, b) => a + b, 0)).toBe(30);
    expect([most, pausedDuringWrites]).toEqual([1, true]);
  });

  it('serial: the slot ending resolves the mode and lets go of stdin (the process may exit)', async () => {
    const stdin = new PassThrough();
    const slot = Object.assign(new EventEmitter(), { write: async () => {} }) as unknown as SlotChannel;
    const done = serveStdio(slot, capture().io, false, (c) => c, stdin);
    slot.emit('end');
    expect(await done).toBe(1);
    // Before: the stdin listener stayed, and a terminal kept the process alive until a key press.
    expect([stdin.listenerCount('data'), stdin.isPaused()]).toEqual([0, true]);
  });

  it('--pty in a directory that does not exist, or where socat cannot create it, is an error', async () => {
    const slot = new EventEmitter() as unknown as SlotChannel;
    const missing = await errorOf(servePty(slot, join(dir, 'no/such/dir/tty'), capture().io));
    expect(missing.message).toMatch(/--pty .*: the directory .*no\/such\/dir does not exist/);
    // A directory socat cannot write into: /proc (exists, refuses new files).
    const denied = await errorOf(servePty(slot, '/proc/uzp-test-tty', capture().io));
    expect(denied.message).toMatch(/--pty \/proc\/uzp-test-tty: socat could not create it \(exit [1-9]\d*\)/);
  });

  it('--pty: socat killed while the gateway still sends: the command ends, it does not crash on EPIPE', async () => {
    const slot = new EventEmitter() as unknown as SlotChannel;
    const c = capture();
    const served = servePty(slot, join(dir, 'tty-epipe'), c.io);
    for (let i = 0; !c.out().includes('"pty"'); i++) {
      if (i > 500) throw new Error(`no pty announced; stderr: ${c.err()}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    const { pid } = JSON.parse(c.out().trim().split('\n')[0]!) as { pid: number };
    process.kill(pid, 'SIGKILL');
    // Bytes from the gateway keep coming while socat is gone: its stdin answers EPIPE.
    const chunk = new Uint8Array(64 * 1024);
    const pump = setInterval(() => (slot as unknown as EventEmitter).emit('data', chunk), 1);
    try {
      expect([0, 1]).toContain(await served);
    } finally {
      clearInterval(pump);
    }
  });

  it('serial: a stdout nobody reads holds at most the bound; the rest is dropped, said once, and counted at the end', async () => {
    const slot = Object.assign(new EventEmitter(), { write: async () => {} }) as unknown as SlotChannel;
    const c = capture();
    // A paused pipe: nothing written is ever taken.
    const stdout = new Writable({ highWaterMark: 16 * 1024, write: () => {} });
    const done = serveStdio(slot, { stdout, stderr: c.io.stderr }, true, (x) => x, new PassThrough());
    const chunk = new Uint8Array(64 * 1024);
    for (let i = 0; i < 100; i++) slot.emit('data', chunk);
    // Before the fix: all 6.4 MB queued (and growing at line rate for as long as it runs).
    expect(stdout.writableLength).toBeLessThanOrEqual(SERIAL_OUT_MAX_QUEUED + chunk.length);
    slot.emit('end');
    expect(await done).toBe(1);
    const events = c.err().trim().split('\n').map((l) => JSON.parse(l) as { event: string; bytes?: number });
    expect(events.map((e) => e.event)).toEqual(['serial_dropping', 'serial_dropped']);
    expect(events[1]!.bytes! + stdout.writableLength).toBe(100 * chunk.length);
  });

  it('--pty nobody opens: the gateway\'s bytes beyond the bound are dropped and said so, not queued for socat', async () => {
    const slot = new EventEmitter() as unknown as SlotChannel;
    const c = capture();
    const served = servePty(slot, join(dir, 'tty-unread'), c.io, true);
    for (let i = 0; !c.out().includes('"pty"'); i++) {
      if (i > 500) throw new Error(`no pty announced; stderr: ${c.err()}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    // 16 MiB at once: socat stops reading us once the PTY's buffer is full (nobody opened it).
    const chunk = new Uint8Array(64 * 1024);
    try {
      for (let i = 0; i < 256; i++) (slot as unknown as EventEmitter).emit('data', chunk);
      // Before the fix: nothing said, and all of it queued on socat's stdin.
      expect(c.err()).toContain('"event":"serial_dropping"');
    } finally {
      (slot as unknown as EventEmitter).emit('end'); // stops socat
    }
    expect(await served).toBe(1);
    const dropped = JSON.parse(c.err().trim().split('\n').at(-1)!) as { event: string; bytes: number };
    expect(dropped.event).toBe('serial_dropped');
    expect(dropped.bytes).toBeGreaterThan(256 * chunk.length - 2 * SERIAL_OUT_MAX_QUEUED);
  });

  it('--pty with a , or : in the path is a usage error naming the flag (exit 2), before any network', async () => {
    const session = ['--key', 'k', '--pcert', 'p', '--trust', 't', '--rn-set', 'r', '--grant', 'g', '--gateway', 'a'.repeat(64), '--slot', 's'];
    for (const path of [join(dir, 'tty,mode=777'), join(dir, 'a:b')]) {
      const r = await runCli('connect', ...session, 'serial', '--pty', path);
      // Before the fix: the path went on into socat's address (after an exit 1 here on the missing key file).
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/--pty: .* cannot be given to socat/);
    }
  });
});
