// A publishing setup for tests, all real processes on loopback: a trust domain made with `uzpgw
// pantheon` (gateway, collector), one or more RN processes, a gateway whose serial-line slots read
// numbered lines the test writes into PTYs ("n=<k>"), and a collector storing into SQLite (or the
// PostgreSQL URL given). Processes can be killed and restarted one by one; readings are read back
// with `uzpgw collector query --json`.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SerialPort } from 'serialport';
import { writeKeyFile } from '../../src/files/keyfile.js';
import { PtyPair } from '../../src/sim/pty.js';
import { openSerial } from '../../src/sim/serial-open.js';
import { toHex } from '../../src/uzp/bytes.js';
import { nodeProvider as p } from '../../src/uzp/crypto/node.js';
import { generateIdentity, type Identity } from '../../src/uzp/identity/identity.js';
import { signalProcess, spawnCli, stopAll, waitForJsonLine, type Child } from './processes.js';

export const PUBLISHED_SLOTS = ['tty-1', 'tty-2'] as const;

export interface CliResult {
  readonly code: number | null;
  readonly out: string;
  readonly err: string;
}

export async function cli(...argv: string[]): Promise<CliResult> {
  const c = spawnCli(argv);
  const { code } = await c.exited;
  return { code, out: c.stdout(), err: c.stderr() };
}

async function must(r: Promise<CliResult>, what: string): Promise<CliResult> {
  const x = await r;
  if (x.code !== 0) throw new Error(`${what} failed (exit ${x.code}): ${x.err}`);
  return x;
}

export interface StoredRow {
  readonly gateway: string;
  readonly slot: string;
  readonly epoch: number;
  readonly seq: number;
  readonly value: unknown;
}

export interface PublishRigOptions {
  /** RN processes (the RN Set lists them all). */
  readonly rns?: number;
  /** The collector's database: a postgres:// URL, else a SQLite file in the rig's directory. */
  readonly db?: string;
  readonly durability?: 'full' | 'batch' | 'off';
  readonly maxMb?: number;
}

export class PublishRig {
  gateway: Child | undefined;
  collector: Child | undefined;
  readonly rns: Child[] = [];
  /** Each RN's CID (hex), by index. */
  readonly rnCids: string[] = [];
  private readonly ports = new Map<string, SerialPort>();
  private readonly cleanups: (() => unknown)[] = [];
  /** Next line number per slot (the "device sequence number" the test knows). */
  readonly written = new Map<string, number>();

  private constructor(
    readonly dir: string,
    readonly gw: Identity,
    readonly col: Identity,
    readonly db: string,
    readonly rnAddresses: string[],
  ) {}

  at(f: string): string {
    return join(this.dir, f);
  }

  static async create(o: PublishRigOptions = {}): Promise<PublishRig> {
    const dir = mkdtempSync(join(tmpdir(), 'uzp-publish-'));
    const partial: { rig?: PublishRig } = {};
    try {
      return await PublishRig.build(dir, o, partial);
    } catch (e) {
      // The PTY pairs (socat) are closed by the rig's own cleanups.
      for (const c of (partial.rig?.cleanups ?? []).reverse()) await Promise.resolve(c()).catch(() => undefined);
      // Nothing half-built outlives a failed setup: every child by its pid, then the directory.
      await stopAll();
      rmSync(dir, { recursive: true, force: true });
      throw e;
    }
  }

  private static async build(dir: string, o: PublishRigOptions, partial: { rig?: PublishRig }): Promise<PublishRig> {
    const at = (f: string): string => join(dir, f);
    await must(cli('pantheon', 'init', '--dir', at('domain'), '--domain', 'publish.test'), 'pantheon init');
    const gw = generateIdentity(p);
    const col = generateIdentity(p);
    for (const [name, id, role] of [['gw', gw, 'gateway'], ['col', col, 'collector']] as const) {
      writeKeyFile(at(`${name}.key`), id);
      await must(cli('pantheon', 'enroll', '--dir', at('domain'), '--public', toHex(id.publicKey), '--role', role, '--out', at(`${name}.pcert`)), 'pantheon enroll');
    }
    const rnIds: Identity[] = [];
    const rig = new PublishRig(dir, gw, col, o.db ?? at('collector.db'), []);
    partial.rig = rig;
    for (let i = 0; i < (o.rns ?? 1); i++) {
      const id = generateIdentity(p);
      writeKeyFile(at(`rn${i}.key`), id);
      rnIds.push(id);
      rig.rnCids.push(toHex(id.cid));
      const rn = spawnCli(['rn', '--listen', '127.0.0.1:0', '--trust', at('domain/trust.json'), '--key', at(`rn${i}.key`), '--log-level', 'warn']);
      rig.rns.push(rn);
      rig.rnAddresses.push((await waitForJsonLine<{ address: string }>(rn, (v) => v.event === 'listening')).address);
          }
    await must(cli('pantheon', 'rn-set', '--dir', at('domain'), ...rnIds.flatMap((id, i) => ['--rn', `${toHex(id.publicKey)}@${rig.rnAddresses[i]}`]), '--out', at('rn-set.uzp')), 'pantheon rn-set');
    mkdirSync(at('pty'));
    mkdirSync(at('dev'));
    for (const slot of PUBLISHED_SLOTS) {
      const pty = await PtyPair.open({ linkA: at(`pty/${slot}`), linkB: at(`dev/${slot}`) });
      rig.cleanups.push(() => pty.close());
      const port = await openSerial(pty.linkB, 115200);
      rig.ports.set(slot, port);
      rig.written.set(slot, 0);
      rig.cleanups.push(() => new Promise<void>((r) => port.close(() => r())));
    }
    await must(cli('pantheon', 'grant', '--dir', at('domain'), '--subject', toHex(gw.cid), '--audience', toHex(col.cid), '--slot', '*', '--purpose', 'telemetry.publish', '--days', '30', '--out', at('publish.grant')), 'pantheon grant (publish)');
    writeFileSync(
      at('gateway.json'),
      JSON.stringify({
        kind: 'uzp-gw/gateway-config',
        identity: { key: 'gw.key', pcert: 'gw.pcert' },
        trust: { anchor: 'domain/trust.json', rn_set: 'rn-set.uzp' },
        reading_log: { durability: o.durability ?? 'batch', batch_ms: 50, ...(o.maxMb !== undefined ? { max_mb: o.maxMb } : {}) },
        publish: { collectors: [{ cid: toHex(col.cid), grant: 'publish.grant', discovery_grant: 'discovery.grant' }] },
        board: 'virtual',
        virtual_dir: 'pty',
        slots: Object.fromEntries(PUBLISHED_SLOTS.map((s) => [s, { device: { id: `sensor-${s}`, driver: 'serial-line', serial: { baud: 115200 } } }])),
      }),
    );
    await must(cli('publish', 'grant', '--config', at('gateway.json'), '--collector', toHex(col.cid), '--slot', '*', '--purpose', 'telemetry.store', '--out', at('discovery.grant')), 'publish grant');
    writeFileSync(
      at('collector.json'),
      JSON.stringify({ kind: 'uzp-gw/collector-config', identity: { key: 'col.key', pcert: 'col.pcert' }, trust: { anchor: 'domain/trust.json', rn_set: 'rn-set.uzp' }, db: rig.db }),
    );
    return rig;
  }

  async startGateway(): Promise<Child> {
    const gw = spawnCli(['gateway', '--config', this.at('gateway.json'), '--log-level', 'info']);
    this.gateway = gw;
    await Promise.all(PUBLISHED_SLOTS.map((slot) => waitForJsonLine(gw, (v) => typeof v.msg === 'string' && v.msg.endsWith(`pty/${slot} opened`))));
    // A serial-line driver drops everything up to the first delimiter after (re)opening (the line
    // may be a fragment): one empty line puts it in step, as a real device's next line would.
    for (const port of this.ports.values()) await new Promise<void>((resolve, reject) => port.write('\n', (e) => (e ? reject(e) : port.drain(() => resolve()))));
    await waitForJsonLine(gw, (v) => v.event === 'rn.attached');
    return gw;
  }

  /** The index of the RN the gateway's publishing session runs through now (from its status). */
  async activeRn(): Promise<number> {
    const s = (await this.status()) as { publish?: { rn?: string }[] };
    const i = this.rnCids.indexOf(s.publish?.[0]?.rn ?? '');
    if (i < 0) throw new Error(`no publishing session through a known RN: ${JSON.stringify(s.publish)}`);
    return i;
  }

  /** SIGKILLs RN `i` and starts it again on the same address (its links and sessions move meanwhile). */
  async killRn(i: number): Promise<void> {
    const old = this.rns[i]!;
    signalProcess(old, 'SIGKILL');
    await old.exited;
    const rn = spawnCli(['rn', '--listen', this.rnAddresses[i]!, '--trust', this.at('domain/trust.json'), '--key', this.at(`rn${i}.key`), '--log-level', 'warn']);
    this.rns[i] = rn;
    await waitForJsonLine(rn, (v) => v.event === 'listening');
  }

  async startCollector(extra: readonly string[] = []): Promise<Child> {
    this.collector = spawnCli(['collector', '--config', this.at('collector.json'), '--log-level', 'info', ...extra]);
    await waitForJsonLine(this.collector, (v) => v.event === 'rn.attached');
    return this.collector;
  }

  /** Writes `count` numbered lines ("n=<k>", then " <filler>" if given) to `slot`'s device side, `gapMs` apart. */
  async writeLines(slot: string, count: number, gapMs = 2, filler?: string): Promise<void> {
    const port = this.ports.get(slot)!;
    for (let i = 0; i < count; i++) {
      const n = this.written.get(slot)!;
      this.written.set(slot, n + 1);
      await new Promise<void>((resolve, reject) => port.write(`n=${n}${filler !== undefined ? ` ${filler}` : ''}\n`, (e) => (e ? reject(e) : port.drain(() => resolve()))));
      if (gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
    }
  }

  /** Every reading the collector stored, as `collector query --json` prints it. */
  async stored(): Promise<StoredRow[]> {
    const r = await must(cli('collector', 'query', '--db', this.db, '--limit', '1000000', '--json'), 'collector query');
    return r.out
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => JSON.parse(l) as StoredRow);
  }

  /** `uzpgw status --json` of the gateway, after SIGHUP made it rewrite its status file (it does every 30 s otherwise). */
  async status(): Promise<Record<string, unknown>> {
    if (this.gateway !== undefined && this.gateway.proc.exitCode === null) {
      const gw = this.gateway;
      const reloads = (): number => gw.stdout().split('"event":"artefacts.reloaded"').length;
      const before = reloads();
      signalProcess(gw, 'SIGHUP');
      while (reloads() === before && gw.proc.exitCode === null) await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, 100));
    }
    const r = await cli('status', '--config', this.at('gateway.json'), '--json');
    return JSON.parse(r.out) as Record<string, unknown>;
  }

  async close(): Promise<void> {
    for (const c of this.cleanups.reverse()) await c();
    await stopAll();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The line number a stored serial-line reading carries ("n=<k>"), or undefined. */
export function lineNumber(row: StoredRow): number | undefined {
  const line = (row.value as { line?: unknown } | null)?.line;
  const m = typeof line === 'string' ? /^n=(\d+)(?: .*)?$/.exec(line) : null;
  return m === null ? undefined : Number(m[1]);
}

/** Polls `f` every 200 ms until it returns a value. */
export async function until<T>(what: string, f: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The stored line numbers of `slot`, ascending. */
export function linesOf(rows: readonly StoredRow[], slot: string): number[] {
  return rows
    .filter((r) => r.slot === slot)
    .map((r) => lineNumber(r))
    .filter((n): n is number => n !== undefined)
    .sort((a, b) => a - b);
}

/** Rows stored more than once under one (gateway, slot, epoch, seq): must be 0. */
export function duplicates(rows: readonly StoredRow[]): number {
  const keys = rows.map((r) => `${r.gateway}/${r.slot}/${r.epoch}/${r.seq}`);
  return keys.length - new Set(keys).size;
}

/** Per boot epoch of `slot`, the seqs that are missing between 0 and the highest stored. */
export function seqGaps(rows: readonly StoredRow[], slot: string): Record<number, number[]> {
  const out: Record<number, number[]> = {};
  const mine = rows.filter((r) => r.slot === slot);
  for (const e of new Set(mine.map((r) => r.epoch))) {
    const seqs = new Set(mine.filter((r) => r.epoch === e).map((r) => r.seq));
    const max = Math.max(...seqs);
    const missing = [...Array(max + 1).keys()].filter((q) => !seqs.has(q));
    if (missing.length > 0) out[e] = missing;
  }
  return out;
}
