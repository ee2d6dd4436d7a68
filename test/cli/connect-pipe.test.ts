// `uzpgw connect … serial` as a pipeline part, against real RN and gateway processes (the two-slot
// rig: echo devices on tty-1 and tty-2). A reader that closes stdout early (`| head -n1`) stops it:
// no stack trace, exit 141 as README "Exit status" says (before: an unhandled EPIPE 'error' event,
// a stack, exit 1). Input under a Grant without serial.write is refused and the exit status says so
// (before: every write refused, exit 0 at the end of stdin, though --help says 1 for refused).

import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI } from '../helpers/processes.js';
import { startTwoSlotGateway, type TwoSlotGateway } from '../helpers/two-slot-gateway.js';

/** Hang guards, not timing claims. */
const GUARD_MS = 20_000;

let g: TwoSlotGateway;
const started = new Set<ChildProcess>();

beforeAll(async () => {
  g = await startTwoSlotGateway();
  for (const [file, purposes] of [
    ['rw.grant', ['serial.read', 'serial.write']],
    ['read.grant', ['serial.read']],
  ] as const) {
    const r = await g.issue(file, '--slot', 'tty-1', ...purposes.flatMap((p) => ['--purpose', p]), '--hours', '1');
    expect(r.code, r.err).toBe(0);
  }
}, 60_000);

afterAll(async () => {
  for (const c of started) if (c.exitCode === null && c.signalCode === null && c.pid !== undefined) process.kill(c.pid, 'SIGKILL');
  await g?.close();
});

/** `uzpgw connect --json … --slot tty-1 serial` with stdin, stdout and stderr pipes the test holds. */
function connectSerial(grant: string) {
  const child = spawn(process.execPath, [CLI, 'connect', ...g.connectArgs(grant), '--slot', 'tty-1', '--json', 'serial'], { stdio: ['pipe', 'pipe', 'pipe'] });
  started.add(child);
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (err += s));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const until = async (what: string, test: () => boolean): Promise<void> => {
    const end = performance.now() + GUARD_MS;
    while (!test()) {
      if (performance.now() > end || child.exitCode !== null) throw new Error(`connect serial: no ${what} (exit ${child.exitCode}); stderr:\n${err}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  const exit = async (): Promise<{ code: number | null; signal: NodeJS.Signals | null }> => {
    const guard = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`connect serial did not exit; stderr:\n${err}`)), GUARD_MS).unref());
    return Promise.race([exited, guard]);
  };
  return { child, out: () => out, err: () => err, until, exit };
}

/** What an unhandled error or a bug's stack trace looks like on stderr. */
const STACK = /Unhandled|^\s+at |Error: /m;

describe('uzpgw connect serial in a pipeline', () => {
  it('stdout closed by its reader after the first echo: stops quietly, exit 141, though stdin is still open', async () => {
    const c = connectSerial('rw.grant');
    await c.until('connected line', () => c.err().includes('"event":"connected"'));
    c.child.stdin!.write('ping 1\n');
    await c.until('echo', () => c.out().includes('ping 1'));
    // The reader goes away (as `head -n1` does after its line); the next echo is written to a closed pipe.
    c.child.stdout!.destroy();
    c.child.stdin!.write('ping 2\n');
    const { code, signal } = await c.exit();
    expect({ code, signal }, c.err()).toEqual({ code: 141, signal: null });
    expect(c.err()).not.toMatch(STACK);
    c.child.stdin!.destroy();
  }, 60_000);

  it('input under a Grant without serial.write: refused (PURPOSE_NOT_GRANTED, said once), exit 1 at the end of stdin', async () => {
    const c = connectSerial('read.grant');
    await c.until('connected line', () => c.err().includes('"event":"connected"'));
    c.child.stdin!.write('a\n');
    c.child.stdin!.write('b\n');
    c.child.stdin!.end();
    const { code } = await c.exit();
    expect(code, c.err()).toBe(1);
    const refused = c.err().split('\n').filter((l) => l.includes('"event":"refused"')).map((l) => JSON.parse(l) as { code: string; reason: string });
    expect(refused).toHaveLength(1);
    expect(refused[0]!.code).toBe('PURPOSE_NOT_GRANTED');
    expect(refused[0]!.reason).toMatch(/your Grant for tty-1: serial\.read.*needs serial\.write/);
    expect(c.err()).not.toMatch(STACK);
  }, 60_000);

  it('a read-only session with nothing to send still ends 0 at the end of stdin', async () => {
    const c = connectSerial('read.grant');
    await c.until('connected line', () => c.err().includes('"event":"connected"'));
    c.child.stdin!.end();
    const { code } = await c.exit();
    expect(code, c.err()).toBe(0);
    expect(c.err()).not.toContain('"event":"refused"');
  }, 60_000);
});
