// A throwaway PostgreSQL cluster for tests: initdb in a private temporary directory, the postmaster
// on a free loopback port (TCP on 127.0.0.1 only, its unix socket inside that directory), trust
// authentication for one user. PostgreSQL refuses to run as root, and these tests run as root here:
// initdb and postgres then run as the `postgres` system user Debian's package creates (spawned with
// that uid/gid directly, so the pid we hold is the postmaster's own). Stopped by its own pid (SIGINT:
// fast shutdown, then SIGKILL after a bound), never by name; stopAllPostgres() in an afterAll hook,
// and an exit hook as a last resort, reap what a failing test left. Installed by
// scripts/ensure-system-packages.sh (Debian `postgresql`).

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freeLoopbackPort } from './free-port.js';

export interface PgCluster {
  /** A database created at start, for a test that needs just one. */
  readonly url: string;
  readonly port: number;
  /** The postmaster's pid. */
  readonly pid: number;
  /** How long initdb, the postmaster's start and the first CREATE DATABASE took (ms), to report. */
  readonly startMs: number;
  /** Creates a fresh empty database; resolves with its URL. */
  createDatabase(): Promise<string>;
  stop(): Promise<void>;
}

/** Bounds against a hang, not expectations: a start on a loaded 2-core machine takes a few seconds. */
const START_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 10_000;
const PORT_ATTEMPTS = 5;
const USER = 'uzp';
/** The last bytes of the postmaster's stderr kept for error messages (its log is unbounded). */
const STDERR_KEEP = 16 * 1024;

const run = promisify(execFile);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Found {
  readonly bin: string;
  /** uid/gid to run as when we are root. */
  readonly as?: { readonly uid: number; readonly gid: number };
}

/** Debian's versioned directories first (newest), then whatever initdb is on PATH. */
function findBin(): string | undefined {
  const dirs: string[] = [];
  const base = '/usr/lib/postgresql';
  if (existsSync(base)) {
    const versions = readdirSync(base).filter((v) => /^\d+(\.\d+)?$/.test(v)).sort((a, b) => Number(b) - Number(a));
    dirs.push(...versions.map((v) => join(base, v, 'bin')));
  }
  dirs.push(...(process.env.PATH ?? '').split(delimiter).filter((d) => d !== ''));
  return dirs.find((d) => existsSync(join(d, 'initdb')) && existsSync(join(d, 'postgres')));
}

function postgresUser(): { uid: number; gid: number } | undefined {
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('postgres:'));
  const f = line?.split(':');
  if (f === undefined || f.length < 4) return undefined;
  return { uid: Number(f[2]), gid: Number(f[3]) };
}

function find(): Found | string {
  const bin = findBin();
  if (bin === undefined) return 'no initdb/postgres in /usr/lib/postgresql/*/bin or on PATH (scripts/ensure-system-packages.sh installs Debian\'s postgresql)';
  if (process.getuid?.() !== 0) return { bin };
  const as = postgresUser();
  if (as === undefined) return 'running as root, and there is no `postgres` system user to run PostgreSQL as (PostgreSQL refuses root)';
  return { bin, as };
}

/** Why a PostgreSQL cluster cannot be started here, or undefined when it can. */
export function postgresUnavailable(): string | undefined {
  const f = find();
  return typeof f === 'string' ? f : undefined;
}

interface Running {
  readonly proc: ChildProcess;
  readonly pid: number;
  readonly root: string;
  readonly exited: Promise<void>;
  readonly stderr: () => string;
}

const running = new Set<Running>();
// A runner that dies (or a test that forgets stop()) must not leave a postmaster behind.
process.once('exit', () => {
  for (const r of running) {
    try {
      process.kill(r.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    rmSync(r.root, { recursive: true, force: true });
  }
});

function env(): NodeJS.ProcessEnv {
  // Nothing of the runner's PG* variables; a C locale so initdb does not depend on the host's.
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C', LANG: 'C', TZ: 'UTC' };
}

function launch(f: Found, root: string, port: number): Running {
  const proc = spawn(
    join(f.bin, 'postgres'),
    [
      '-D', join(root, 'data'),
      '-p', String(port),
      '-c', 'listen_addresses=127.0.0.1',
      '-c', `unix_socket_directories=${root}`,
      // A server crash is not what these tests exercise (their durability is the store's commit
      // and reopen): skip the server's own fsyncs on a shared machine.
      '-c', 'fsync=off',
      '-c', 'full_page_writes=off',
      '-c', 'max_connections=40',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], env: env(), cwd: root, ...(f.as ?? {}) },
  );
  let err = '';
  proc.stderr!.setEncoding('utf8').on('data', (s: string) => {
    err = (err + s).slice(-STDERR_KEEP);
  });
  const exited = new Promise<void>((resolve) => {
    proc.once('exit', () => resolve());
    proc.once('error', (e) => {
      err += String(e);
      resolve();
    });
  });
  if (proc.pid === undefined) throw new Error(`could not spawn ${join(f.bin, 'postgres')}`);
  const r: Running = { proc, pid: proc.pid, root, exited, stderr: () => err };
  running.add(r);
  void exited.then(() => running.delete(r));
  return r;
}

function alive(r: Running): boolean {
  return r.proc.exitCode === null && r.proc.signalCode === null;
}

/** SIGINT (fast shutdown: disconnect clients, checkpoint, exit), then SIGKILL after a bound; by pid only. */
async function kill(r: Running): Promise<void> {
  if (alive(r)) {
    try {
      process.kill(r.pid, 'SIGINT');
    } catch {
      // already gone
    }
    const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), STOP_GRACE_MS).unref());
    if ((await Promise.race([r.exited.then(() => 'exited' as const), timer])) === 'timeout') {
      try {
        process.kill(r.pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
    await r.exited;
  }
  running.delete(r);
}

async function admin<T>(port: number, f: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ host: '127.0.0.1', port, user: USER, database: 'postgres', connectionTimeoutMillis: 5_000 });
  c.on('error', () => {}); // a server going away while idle; the query in flight rejects on its own
  await c.connect();
  try {
    return await f(c);
  } finally {
    await c.end().catch(() => {});
  }
}

/** Resolves once the postmaster accepts a query; rejects (with its stderr) if it exits first or the bound passes. */
async function ready(r: Running, port: number, deadline: number): Promise<void> {
  let last: unknown;
  while (alive(r) && Date.now() < deadline) {
    try {
      await admin(port, (c) => c.query('SELECT 1'));
      return;
    } catch (e) {
      last = e; // refused until it listens; 57P03 "starting up" until recovery is done
      await sleep(25);
    }
  }
  throw new Error(`postgres on 127.0.0.1:${port} did not become ready (${alive(r) ? `last error: ${String(last)}` : 'it exited'}): ${r.stderr().trim() || 'no output'}`);
}

let databases = 0;

export async function startPostgres(): Promise<PgCluster> {
  const f = find();
  if (typeof f === 'string') throw new Error(`cannot start PostgreSQL: ${f}`);
  const t0 = performance.now();
  const root = await mkdtemp(join(tmpdir(), 'uzp-pg-'));
  try {
    if (f.as !== undefined) await chown(root, f.as.uid, f.as.gid);
    // The default collation is ICU en-US, as on most real servers (there 'B' sorts after 'a'),
    // so the store's byte order (COLLATE "C") is tested, not granted by a C-locale cluster.
    await run(join(f.bin, 'initdb'), ['-D', join(root, 'data'), '-U', USER, '-A', 'trust', '-E', 'UTF8', '--locale=C', '--locale-provider=icu', '--icu-locale=en-US', '--no-sync'], { env: env(), cwd: root, ...(f.as ?? {}) });
  } catch (e) {
    await rm(root, { recursive: true, force: true });
    throw new Error(`initdb failed: ${(e as { stderr?: string }).stderr ?? String(e)}`);
  }
  const deadline = Date.now() + START_TIMEOUT_MS;
  let r: Running | undefined;
  let port = 0;
  // A port found free can be taken before the postmaster binds it: then it exits; try a fresh port.
  for (let i = 0; r === undefined; i++) {
    port = await freeLoopbackPort();
    const attempt = launch(f, root, port);
    try {
      await ready(attempt, port, deadline);
      r = attempt;
    } catch (e) {
      await kill(attempt);
      if (i + 1 >= PORT_ATTEMPTS || Date.now() >= deadline) {
        await rm(root, { recursive: true, force: true });
        throw e;
      }
    }
  }
  const pm = r;
  const createDatabase = async (): Promise<string> => {
    const name = `t${++databases}`;
    await admin(port, (c) => c.query(`CREATE DATABASE ${name}`));
    return `postgres://${USER}@127.0.0.1:${port}/${name}`;
  };
  let url: string;
  try {
    url = await createDatabase();
  } catch (e) {
    await kill(pm);
    await rm(root, { recursive: true, force: true });
    throw e;
  }
  return {
    url,
    port,
    pid: pm.pid,
    startMs: Math.round(performance.now() - t0),
    createDatabase,
    async stop() {
      await kill(pm);
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** Stops every cluster this module started that is still running (afterAll of a failing test). */
export async function stopAllPostgres(): Promise<void> {
  await Promise.all(
    [...running].map(async (r) => {
      await kill(r);
      await rm(r.root, { recursive: true, force: true });
    }),
  );
}
