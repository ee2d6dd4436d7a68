// A software TPM 2.0 (swtpm) on loopback TCP for tests, in a private temporary state directory.
// Stopped by its own pid (SIGTERM, then SIGKILL), never by name. restart() kills it and starts it
// again on the same state without a TPM2_Shutdown: the next TPM2_Startup(CLEAR) is then a TPM Reset
// (TPM 2.0 Part 1 §36.6), so resetCount goes up, as on a power cut.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Swtpm {
  /** TCTI for tpm2-tools: "swtpm:host=127.0.0.1,port=P". */
  readonly tcti: string;
  /** A scratch directory for the test's own files (AK files...), removed by stop(). */
  readonly stateDir: string;
  /** Pid of the current swtpm process (changes on restart). */
  readonly pid: number;
  /** Kills swtpm (no orderly shutdown) and starts it again on the same TPM state; `clean` wipes the state first (a new TPM). */
  restart(opts?: { clean?: boolean }): Promise<void>;
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 5_000;
const STOP_GRACE_MS = 2_000;
const PORT_ATTEMPTS = 20;

/** Binds 127.0.0.1:port (0 = any) and closes again; resolves with the port, or undefined when it is taken. */
function probe(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(undefined));
    s.listen({ port, host: '127.0.0.1', exclusive: true }, () => {
      const addr = s.address();
      const p = typeof addr === 'object' && addr !== null ? addr.port : undefined;
      s.close(() => resolve(p));
    });
  });
}

/** Two free consecutive loopback ports (server P, control P+1). */
async function freePortPair(): Promise<number> {
  for (let i = 0; i < PORT_ATTEMPTS; i++) {
    const p = await probe(0);
    if (p === undefined || p >= 65535) continue;
    if ((await probe(p + 1)) !== undefined) return p;
  }
  throw new Error('no two free consecutive loopback ports found');
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = connect({ port, host: '127.0.0.1' });
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Running {
  readonly proc: ChildProcess;
  readonly pid: number;
  readonly exited: Promise<void>;
  readonly stderr: () => string;
}

/** Starts swtpm; resolves once its server port accepts, rejects (with stderr) if it exits first. */
async function launch(tpmState: string, port: number): Promise<Running> {
  const proc = spawn(
    'swtpm',
    [
      'socket',
      '--tpm2',
      '--tpmstate', `dir=${tpmState}`,
      '--server', `type=tcp,port=${port},bindaddr=127.0.0.1`,
      '--ctrl', `type=tcp,port=${port + 1},bindaddr=127.0.0.1`,
      '--flags', 'not-need-init,startup-clear',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let err = '';
  proc.stderr!.setEncoding('utf8').on('data', (s: string) => (err += s));
  let dead = false;
  const exited = new Promise<void>((resolve) => {
    proc.once('exit', () => {
      dead = true;
      resolve();
    });
    proc.once('error', (e) => {
      dead = true;
      err += String(e);
      resolve();
    });
  });
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!dead && Date.now() < deadline) {
    if (await canConnect(port)) return { proc, pid: proc.pid!, exited, stderr: () => err };
    await sleep(20);
  }
  if (!dead) await kill({ proc, pid: proc.pid!, exited, stderr: () => err });
  throw new Error(`swtpm did not start on 127.0.0.1:${port}: ${err.trim() || 'no output'}`);
}

/** SIGTERM, then SIGKILL after a grace period; by pid only. */
async function kill(r: Running, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (r.proc.exitCode !== null || r.proc.signalCode !== null) return;
  try {
    process.kill(r.pid, signal);
  } catch {
    return; // already gone
  }
  const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), STOP_GRACE_MS).unref());
  if ((await Promise.race([r.exited.then(() => 'exited' as const), timer])) === 'timeout') {
    try {
      process.kill(r.pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
    await r.exited;
  }
}

export async function startSwtpm(): Promise<Swtpm> {
  const root = await mkdtemp(join(tmpdir(), 'uzp-swtpm-'));
  const tpmState = join(root, 'tpm');
  const stateDir = join(root, 'gateway');
  await mkdir(tpmState, { mode: 0o700 });
  await mkdir(stateDir, { mode: 0o700 });

  let port = 0;
  let current: Running | undefined;
  // A port found free can be taken before swtpm binds it: try again on fresh ports.
  for (let i = 0; i < 5 && current === undefined; i++) {
    port = await freePortPair();
    try {
      current = await launch(tpmState, port);
    } catch (e) {
      if (i === 4) {
        await rm(root, { recursive: true, force: true });
        throw e;
      }
    }
  }
  let running: Running = current!;
  // A test runner that dies must not leave swtpm behind.
  const onExit = (): void => {
    try {
      process.kill(running.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  process.once('exit', onExit);

  return {
    tcti: `swtpm:host=127.0.0.1,port=${port}`,
    stateDir,
    get pid() {
      return running.pid;
    },
    async restart(opts: { clean?: boolean } = {}) {
      // SIGKILL: nothing gets to send TPM2_Shutdown, exactly like pulling the power.
      await kill(running, 'SIGKILL');
      if (opts.clean === true) {
        await rm(tpmState, { recursive: true, force: true });
        await mkdir(tpmState, { mode: 0o700 });
      }
      // The same port, so the TCTI stays valid; it may take a moment to become bindable again.
      let lastError: unknown;
      for (let i = 0; i < 10; i++) {
        try {
          running = await launch(tpmState, port);
          return;
        } catch (e) {
          lastError = e;
          await sleep(100);
        }
      }
      throw lastError;
    },
    async stop() {
      process.off('exit', onExit);
      await kill(running);
      await rm(root, { recursive: true, force: true });
    },
  };
}
