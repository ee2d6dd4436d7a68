// `uzpgw status`: in process for usage, a missing file and a healthy gateway; then through every real
// part — an RN process and a `uzpgw gateway` process whose PCert expires in 2 days — with
// `uzpgw status` run as a child process against the status file the gateway writes.

import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/dispatch.js';
import { defaultConfigOr } from '../../src/cli/status.js';
import { loadGatewayConfig } from '../../src/config/index.js';
import type { GatewayStatus } from '../../src/gateway/status-file.js';
import { toHex } from '../../src/uzp/bytes.js';
import { startGateway, type GatewaySetup } from '../attest/gateway-setup.js';
import { sampleStatus } from '../gateway/status-sample.js';
import { spawnCli, stopAll, stopProcess } from '../helpers/processes.js';

const DAY = 86_400;
const dir = mkdtempSync(join(tmpdir(), 'uzp-status-cli-'));

async function inProcess(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const sink = (f: (s: string) => void): Writable => new Writable({ write: (c, _e, cb) => (f(String(c)), cb()) });
  const code = await main(argv, { stdout: sink((s) => (out += s)), stderr: sink((s) => (err += s)) });
  return { code, out, err };
}

async function run(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const c = spawnCli(args);
  const { code } = await c.exited;
  return { code, out: c.stdout(), err: c.stderr() };
}

type Checked = GatewayStatus & { check: { file: string; at: string; alive: boolean; reason?: string; ok: boolean } };

describe('uzpgw status (in process)', () => {
  it('--config and --state together are a usage error (exit 2)', async () => {
    const r = await inProcess(['status', '--config', 'gw.json', '--state', 's.json']);
    expect(r.code).toBe(2);
    expect(r.err).toBe('uzpgw status: give --config or --state, not both [USAGE]\n');
  });

  // The default config path is injected (defaultConfigOr's second parameter): the test never looks
  // at the real /etc. Before: a usage error (exit 2, [USAGE]) where `status --config <missing>` and
  // `attest` on the same machine said FILE_NOT_FOUND (exit 1), as README "Exit status" has it.
  it('no --config and no config at the default path: FILE_NOT_FOUND naming the path and the flags, like --config <missing>', async () => {
    const absentDefault = join(dir, 'etc', 'gateway.json');
    expect(() => defaultConfigOr(undefined, absentDefault)).toThrow(
      expect.objectContaining({ code: 'FILE_NOT_FOUND', message: `no gateway config at ${absentDefault} (where \`uzpgw flash\` installs it): give --config FILE, or --state FILE for a status file` }),
    );
    const named = await inProcess(['status', '--config', absentDefault]);
    expect([named.code, named.err]).toEqual([1, expect.stringContaining('[FILE_NOT_FOUND]')]);
  });

  it('a missing status file says what to do (exit 1)', async () => {
    const file = join(dir, 'none', 'status.json');
    const r = await inProcess(['status', '--state', file]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`no status at ${file}: is the gateway running? it writes this file at start`);
  });

  it('a fresh file from a live process with nothing expiring: a readable summary, exit 0', async () => {
    const file = join(dir, 'healthy.json');
    const far = new Date(Date.now() + 365 * DAY * 1000).toISOString();
    const s = sampleStatus({ written_at: new Date().toISOString(), pid: process.pid, refused: { handshakes: 3100, artefacts_from_rn: 1 } });
    writeFileSync(file, JSON.stringify({ ...s, artefacts: s.artefacts.map((a) => ({ ...a, expires_at: far })) }));
    const r = await inProcess(['status', '--state', file]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain('refused:  3100 sessions before it began, 1 artefact from RNs, since start');
    // A gateway that counts early data not taken says so too.
    writeFileSync(file, JSON.stringify({ ...s, refused: { ...s.refused, early_data: 5 }, artefacts: s.artefacts.map((a) => ({ ...a, expires_at: far })) }));
    expect((await inProcess(['status', '--state', file])).out).toContain('refused:  3100 sessions before it began, 1 artefact from RNs, early data of 5 sessions, since start');
    expect(r.out).toContain(`gateway  ${'ab'.repeat(32)} (gw-17, board rpi-4b)`);
    expect(r.out).toContain(`status:   running, pid ${process.pid}`);
    expect(r.out).toContain('runtime:  node v24.22.0 (linux arm64, /opt/uzp-gateway/runtime/bin/node)');
    expect(r.out).toContain(`RN:       attached to ${'cd'.repeat(32)} at rn.example.net:7443`);
    expect(r.out).toMatch(/\n {2}pcert +expires \S+ {2}ok {2}\/var\/lib\/uzp-gateway\/identity.pcert\n/);
    expect(r.out).toMatch(/\n {2}rs485-1 +th-bus-1 +modbus-poller +running, 12 readings\n/);
    expect(r.out).not.toContain('renew');
  });
});

describe('uzpgw status, a file written ahead of this clock (in process)', () => {
  it('says it cannot tell whether the gateway runs, and why; exit 1', async () => {
    // As after NTP stepped the clock back 2.5 hours and the gateway hung: its pid still exists.
    const file = join(dir, 'future.json');
    const far = new Date(Date.now() + 365 * DAY * 1000).toISOString();
    const s = sampleStatus({ written_at: new Date(Date.now() + 2.5 * 3600_000).toISOString(), pid: process.pid });
    writeFileSync(file, JSON.stringify({ ...s, artefacts: s.artefacts.map((a) => ({ ...a, expires_at: far })) }));
    const r = await inProcess(['status', '--state', file]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/\n {2}status: {3}UNKNOWN: cannot tell whether it runs: written \S+, 2 hours ahead of this machine's clock \(was the clock stepped back\?\)/);
    expect(r.out).not.toContain('running, pid');
    const j = await inProcess(['status', '--state', file, '--json']);
    expect(j.code).toBe(1);
    expect((JSON.parse(j.out) as Checked).check).toMatchObject({ alive: false, ok: false, reason: expect.stringMatching(/^cannot tell whether it runs/) });
  });
});

describe('uzpgw status, a damaged file (in process)', () => {
  it('a slot without the fields the summary reads: a clear error naming the file, not a stack trace (exit 1)', async () => {
    const file = join(dir, 'damaged.json');
    const s = sampleStatus({ written_at: new Date().toISOString(), pid: process.pid });
    writeFileSync(file, JSON.stringify({ ...s, slots: [{ slot: 'rs485-1', driver: 'modbus-poller' }] }));
    const r = await inProcess(['status', '--state', file]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`${file}: not a status file this uzpgw can show`);
    expect(r.err).not.toMatch(/unexpected error|\n\s+at /);
  });
});

describe('uzpgw status, a failing reading log (in process)', () => {
  it('says since when commits fail and why, what waits in memory, what it dropped unstored apart from the byte bound, what to check; exit 1', async () => {
    const file = join(dir, 'failing-log.json');
    const far = new Date(Date.now() + 365 * DAY * 1000).toISOString();
    const s = sampleStatus({
      written_at: new Date().toISOString(),
      pid: process.pid,
      reading_log: { file: '/var/lib/uzp-gateway/readings.db', durability: 'batch', readings: 10, bytes: 800, max_bytes: 64 << 20, pending: 1200, pending_bytes: 3 << 20, wal_discarded: 2, dropped: { 'tty-1': 150, 'tty-2': 7 }, pending_dropped: { 'tty-1': 50, 'tty-2': 7 }, receipted: 0, kept_for_nobody: 4, commit_failing: { since: '2026-12-06T21:00:00.000Z', error: 'database or disk is full' } },
    });
    writeFileSync(file, JSON.stringify({ ...s, artefacts: s.artefacts.map((a) => ({ ...a, expires_at: far })) }));
    const r = await inProcess(['status', '--state', file]);
    expect(r.code).toBe(1);
    expect(r.out).toContain('  10 readings (4 for no collector, dropped first past the bound), 0.0 MiB of 64.0 MiB (batch), 1200 pending (3.0 MiB), 0 deleted after receipts');
    expect(r.out).toContain('  LOST at an open after a crash: 2 commits behind a damaged WAL frame (the card may be failing: check the kernel log)\n');
    // `dropped` holds both: the byte bound's, and the readings never stored (shown apart).
    expect(r.out).toContain('  DROPPED by the byte bound (oldest first, never published): tty-1 100\n');
    expect(r.out).toContain('  DROPPED unstored since start (beyond the pending bound while commits failed, or pending at a failed stop): tty-1 50, tty-2 7\n');
    expect(r.out).toContain('  COMMITS FAILING since 2026-12-06T21:00:00.000Z: database or disk is full; the 1200 pending readings wait in memory and are retried every batch_ms (check the disk: free space, I/O errors in the kernel log)\n');
    const j = await inProcess(['status', '--state', file, '--json']);
    expect([j.code, (JSON.parse(j.out) as Checked).check.ok]).toEqual([1, false]);
  });
});

describe('uzpgw status against a running gateway', () => {
  let g: GatewaySetup;
  let statusFile: string;

  beforeAll(async () => {
    g = await startGateway(join(dir, 'gw'), { lifetimes: { pcertSeconds: 2 * DAY, rnSetSeconds: 30 * DAY } });
    statusFile = join(dirname(loadGatewayConfig(g.config).identity.key), 'status.json');
    // The gateway logged rn.attached; the write that follows it may still be under way.
    for (;;) {
      try {
        if ((JSON.parse(readFileSync(statusFile, 'utf8')) as GatewayStatus).rn.state === 'attached') break;
      } catch {
        // not written yet
      }
      await delay(50);
    }
  }, 60_000);

  afterAll(async () => {
    await stopAll();
    await g?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('--json: identity, the runtime the gateway runs on, the RN attachment, the slot, and the PCert warning (exit 1)', async () => {
    expect(statSync(statusFile).mode & 0o777).toBe(0o600);
    const r = await run(['status', '--config', g.config, '--json']);
    expect(r.err).toBe('');
    expect(r.code).toBe(1); // the PCert expires within 7 days
    const s = JSON.parse(r.out) as Checked;
    expect(s).toMatchObject({ kind: 'uzp-gw/gateway-status', state: 'running', pid: g.gateway.pid, identity: { cid: toHex(g.gw.id.cid), board: 'virtual' } });
    // spawnCli runs the gateway on the node running this test.
    expect(s.runtime).toEqual({ node: process.version, exec_path: process.execPath, arch: process.arch, platform: process.platform });
    expect(s.rn).toMatchObject({ state: 'attached', address: expect.stringMatching(/^127\.0\.0\.1:\d+$/), rn: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(s.slots).toEqual([expect.objectContaining({ slot: 'rs485-1', device: 'th-bus-1', driver: 'modbus-poller', state: 'running' })]);
    const byKind = Object.fromEntries(s.artefacts.map((a) => [a.kind, a]));
    expect(byKind.pcert).toMatchObject({ file: join(dir, 'gw', 'gw.pcert'), expiry: 'expiring', warning: expect.stringMatching(/^expires in 1 day \(\S+Z\); renew it: docs\/FLASH\.md#renewal$/) });
    expect(byKind['rn-set']).toMatchObject({ expiry: 'ok' });
    expect(byKind['rn-set']).not.toHaveProperty('warning');
    expect(s.check).toMatchObject({ file: statusFile, alive: true, ok: false });
    // The gateway said so in its log too.
    const logged = g.gateway.stdout().split('\n').filter((l) => l.includes('"artefact.expiring"')).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(logged).toEqual([expect.objectContaining({ level: 40, artefact: 'pcert', object_id: byKind.pcert!.object_id, msg: byKind.pcert!.warning!.replace(/^/, 'pcert ') })]);
  });

  it('the summary names the artefact to renew and where renewal is explained', async () => {
    const r = await run(['status', '--config', g.config]);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`gateway  ${toHex(g.gw.id.cid)} (board virtual)`);
    expect(r.out).toContain(`status:   running, pid ${g.gateway.pid}`);
    expect(r.out).toMatch(/\n {2}pcert +expires \S+ {2}EXPIRING {2}\S+gw\.pcert\n {2} +expires in 1 day /);
    expect(r.out).toContain('1 artefact to renew: docs/FLASH.md#renewal');
  });

  it('after the gateway stops: state "stopped", not running (exit 1)', async () => {
    expect((await stopProcess(g.gateway)).code).toBe(0);
    const r = await run(['status', '--state', statusFile, '--json']);
    expect(r.code).toBe(1);
    const s = JSON.parse(r.out) as Checked;
    expect(s).toMatchObject({ state: 'stopped', rn: { state: 'stopped' }, check: { alive: false, ok: false } });
    expect(s.check.reason).toMatch(/^not running: the gateway stopped; last written /);
    expect(s.slots[0]).toMatchObject({ slot: 'rs485-1', state: 'stopped' });
  }, 60_000); // stopped this soon after start, the process exits ~10 s later (start-up work, likely the bundle measurement, runs on)
});
