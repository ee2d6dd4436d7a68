// State files changed by two commands at once (src/files/lock.ts): real processes racing on one
// file (dist/, built by `npm test`), a lock left by a killed process, and the reads around it
// (a missing or dangling Pantheon state is an error, a capped read allocates what the file holds).

import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readDiscoveryRevocations } from '../../src/files/discovery-revocations.js';
import { readFileCapped } from '../../src/files/fsutil.js';
import { withFileLock } from '../../src/files/lock.js';
import { initDomain } from '../../src/pantheon/init.js';
import { revoke } from '../../src/pantheon/revoke.js';
import { statePath } from '../../src/pantheon/state.js';
import { nodeProvider as provider } from '../../src/uzp/crypto/node.js';

const tmp = mkdtempSync(join(tmpdir(), 'uzp-lock-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const dist = (p: string): string => new URL(`../../dist/${p}`, import.meta.url).pathname;

/** Runs `count` appends of distinct envelopes in a child process; resolves when it exits. */
function appender(file: string, tag: number, count: number): Promise<void> {
  const code = `
    const { appendDiscoveryRevocation } = await import(${JSON.stringify(dist('files/discovery-revocations.js'))});
    for (let i = 0; i < ${count}; i++) appendDiscoveryRevocation(${JSON.stringify(file)}, Uint8Array.of(${tag}, i));
  `;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--input-type=module', '-e', code], (e) => (e ? reject(e) : resolve()));
  });
}

describe('state files under a lock', () => {
  it('two processes appending discovery revocations at once: every one is kept', async () => {
    const file = join(tmp, 'discovery-revocations.json');
    await Promise.all([appender(file, 1, 60), appender(file, 2, 60)]);
    expect(readDiscoveryRevocations(file)).toHaveLength(120);
  }, 60_000);

  it('a lock whose process is gone is taken over; a live holder is waited for, then named', () => {
    const file = join(tmp, 'state-a.json');
    // A pid that cannot be running: the lock of a killed command.
    writeFileSync(`${file}.lock`, '2147483646\n');
    expect(withFileLock(file, () => 'ran')).toBe('ran');
    expect(() => readFileSync(`${file}.lock`)).toThrow(); // released
    writeFileSync(`${file}.lock`, `${process.ppid}\n`); // a live process holds it
    expect(() => withFileLock(file, () => 'ran', 100)).toThrow(new RegExp(`held by process ${process.ppid}.*remove the file if no such process`));
    unlinkSync(`${file}.lock`);
  });

  it('a child killed while holding the lock does not block the next command', async () => {
    const file = join(tmp, 'state-b.json');
    const code = `
      const { withFileLock } = await import(${JSON.stringify(dist('files/lock.js'))});
      withFileLock(${JSON.stringify(file)}, () => { process.stdout.write('held\\n'); Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60000); });
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((r) => child.stdout.once('data', () => r()));
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    expect(readFileSync(`${file}.lock`, 'utf8').trim()).toBe(String(child.pid));
    expect(withFileLock(file, () => 'ran', 2_000)).toBe('ran');
  }, 30_000);
});

describe('Pantheon state', () => {
  it('a missing or dangling state.json is an error, not a fresh state whose counters restart', () => {
    const dir = join(tmp, 'domain');
    initDomain(provider, dir, 'example.test');
    const cid = 'ab'.repeat(32);
    const first = revoke(provider, { dir, cids: [cid], objectIds: [], artefacts: [], days: 30, out: join(tmp, 'rev1.uzp'), nowMs: Date.now() });
    expect(first.sequence).toBe(1);
    const saved = readFileSync(statePath(dir));
    unlinkSync(statePath(dir));
    const again = { dir, cids: ['cd'.repeat(32)], objectIds: [], artefacts: [], days: 30, out: join(tmp, 'rev2.uzp'), nowMs: Date.now() };
    expect(() => revoke(provider, again)).toThrow(/issuing state is missing.*restore it from a backup/);
    symlinkSync(join(tmp, 'nowhere.json'), statePath(dir));
    expect(() => revoke(provider, again)).toThrow(/state\.json/);
    unlinkSync(statePath(dir));
    writeFileSync(statePath(dir), saved);
    expect(revoke(provider, again)).toMatchObject({ sequence: 2, total_cids: 2 });
  });

  it('two `pantheon revoke` processes at once: sequences never repeat and no CID is lost', async () => {
    const dir = join(tmp, 'domain-race');
    initDomain(provider, dir, 'example.test');
    const run = (tag: string): Promise<void> => {
      const code = `
        const { revoke } = await import(${JSON.stringify(dist('pantheon/revoke.js'))});
        const { nodeProvider } = await import(${JSON.stringify(dist('uzp/crypto/node.js'))});
        for (let i = 0; i < 25; i++) revoke(nodeProvider, { dir: ${JSON.stringify(dir)}, cids: ['${tag}' + i.toString(16).padStart(62, '0')], objectIds: [], artefacts: [], days: 30, out: ${JSON.stringify(join(tmp, 'race-'))} + '${tag}' + i + '.uzp', nowMs: Date.now() });
      `;
      return new Promise((resolve, reject) => execFile(process.execPath, ['--input-type=module', '-e', code], (e) => (e ? reject(e) : resolve())));
    };
    await Promise.all([run('aa'), run('bb')]);
    const state = JSON.parse(readFileSync(statePath(dir), 'utf8')) as { revocation: { sequence: number; cids: string[] } };
    expect(state.revocation.sequence).toBe(50);
    expect(state.revocation.cids).toHaveLength(50);
  }, 60_000);
});

describe('capped reads', () => {
  it('allocate what the file holds, not the cap', () => {
    const file = join(tmp, 'small.json');
    writeFileSync(file, '{"a":1}');
    const { bytes } = readFileCapped(file, 128 * 1024 * 1024, 'test file');
    expect(new TextDecoder().decode(bytes)).toBe('{"a":1}');
    expect(bytes.buffer.byteLength).toBeLessThan(1024);
    writeFileSync(file, 'x'.repeat(101));
    expect(() => readFileCapped(file, 100, 'test file')).toThrow(/too large/);
  });
});
