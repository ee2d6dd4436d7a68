// A real RN process and a real `uzpgw gateway` process for tests of how the gateway treats its
// equipment (missing devices, Modbus unit 0): the trust domain and files, a gateway config with the
// slots a test gives and an audit file, and helpers for operator Grants, `connect` processes and
// raw Modbus TCP exchanges. Modelled on test/attest/gateway-setup.ts (not shared: that one is
// shaped for attestation). The test makes the equipment (PTYs under `pty/`) itself, or leaves it out.

import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeArtefactFile } from '../../src/files/artefact-file.js';
import { writeKeyFile } from '../../src/files/keyfile.js';
import { encodeTrustAnchor } from '../../src/files/trust-anchor.js';
import type { GrantScope, Purpose } from '../../src/uzp/artefacts/types.js';
import { toHex } from '../../src/uzp/bytes.js';
import { TestDomain, type Member } from '../helpers/domain.js';
import { CLI, spawnCli, stopProcess, waitForJsonLine, type Child } from '../helpers/processes.js';

export interface EquipmentGateway {
  readonly dir: string;
  /** The gateway's CID, hex. */
  readonly cid: string;
  /** A path inside the test directory. */
  readonly f: (name: string) => string;
  readonly gateway: Child;
  /** The gateway's stdout as parsed JSON lines (its operational log). */
  readonly logLines: () => Record<string, unknown>[];
  /** The audit file's lines. */
  readonly audit: () => Record<string, unknown>[];
  /**
   * Writes a Grant for `slot` to a file and returns the `connect` flags that use it. `operator`
   * names another operator identity than the default one (made on first use, with its own files);
   * `expiresInS`: a Grant that expires that many seconds from now (default: in an hour).
   */
  readonly connectArgs: (slot: string, purposes: Purpose[], operator?: string, expiresInS?: number) => string[];
  /** Writes a Grant with these scopes and returns the `connect` flags that use it (no --slot). */
  readonly grantFlags: (scopes: GrantScope[]) => string[];
  close(): Promise<void>;
}

interface Options {
  /** `slots` of the gateway config. */
  readonly slots: Record<string, unknown>;
  /** Runs after the directory exists and before the gateway starts (make PTYs under f('pty')). */
  readonly before?: (f: (name: string) => string) => Promise<void>;
  /** More top-level keys of the gateway config (e.g. `sessions`). */
  readonly config?: Record<string, unknown>;
}

export async function startEquipmentGateway(o: Options): Promise<EquipmentGateway> {
  const dir = mkdtempSync(join(tmpdir(), 'uzp-eqgw-'));
  const f = (n: string): string => join(dir, n);
  mkdirSync(f('pty'));
  const d = new TestDomain(undefined, Date.now());
  const rn = d.member('rn');
  const gw = d.member('gateway');
  const op: Member = d.member('operator');
  writeFileSync(f('trust.json'), encodeTrustAnchor({ domain: 'eq', rootPublicKey: d.root.publicKey, rootCid: d.root.cid }));
  writeKeyFile(f('rn.key'), rn.id);
  const rnChild = spawnCli(['rn', '--listen', '127.0.0.1:0', '--trust', f('trust.json'), '--key', f('rn.key'), '--log-level', 'warn']);
  const rnAddress = (await waitForJsonLine<{ address: string }>(rnChild, (v) => v.event === 'listening')).address;
  writeArtefactFile(f('rn-set.uzp'), d.rnSet([{ id: rn.id, addresses: [rnAddress] }]));
  writeKeyFile(f('gw.key'), gw.id);
  writeArtefactFile(f('gw.pcert'), gw.pcert);
  const operators = new Map<string, Member>();
  const operator = (name: string): Member => {
    let m = operators.get(name);
    if (m === undefined) {
      m = name === 'op' ? op : d.member('operator');
      operators.set(name, m);
      writeKeyFile(f(`${name}.key`), m.id);
      writeArtefactFile(f(`${name}.pcert`), m.pcert);
    }
    return m;
  };
  operator('op');
  await o.before?.(f);
  writeFileSync(
    f('gateway.json'),
    JSON.stringify({
      kind: 'uzp-gw/gateway-config',
      identity: { key: 'gw.key', pcert: 'gw.pcert' },
      trust: { anchor: 'trust.json', rn_set: 'rn-set.uzp' },
      board: 'virtual',
      virtual_dir: 'pty',
      audit: { file: 'audit.jsonl' },
      attestation: { tpm: 'off' },
      ...o.config,
      slots: o.slots,
    }),
  );
  // No --log-level: what an installer sees is what the default level shows.
  const gateway = spawnCli(['gateway', '--config', f('gateway.json')]);
  await waitForJsonLine(gateway, (v) => v.event === 'rn.attached');
  // Whole lines only: the last one may still be being written.
  const jsonLines = (text: string): Record<string, unknown>[] =>
    text
      .split('\n')
      .slice(0, -1)
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  const grantFlags = (file: string, scopes: GrantScope[], name = 'op', expiresInS?: number): string[] => {
    // The domain's clock stands at the gateway's start: a Grant's life counts from there.
    const validSeconds = expiresInS === undefined ? {} : { validSeconds: Math.floor(Date.now() / 1000) - d.now + expiresInS };
    writeArtefactFile(f(file), d.grant(operator(name).id.cid, gw.id.cid, { scopes, ...validSeconds }));
    return [...['--key', f(`${name}.key`), '--pcert', f(`${name}.pcert`), '--trust', f('trust.json'), '--rn-set', f('rn-set.uzp'), '--grant', f(file)], ...['--gateway', toHex(gw.id.cid)]];
  };
  return {
    dir,
    cid: toHex(gw.id.cid),
    f,
    gateway,
    logLines: () => jsonLines(gateway.stdout()),
    audit: () => (existsSync(f('audit.jsonl')) ? jsonLines(readFileSync(f('audit.jsonl'), 'utf8')) : []),
    connectArgs: (slot, purposes, name = 'op', expiresInS) => [...grantFlags(`${name}-${slot}${expiresInS === undefined ? '' : `-${expiresInS}s`}.grant`, [{ slot, purposes }], name, expiresInS), '--slot', slot],
    grantFlags: (scopes) => grantFlags(`op-${scopes.map((s) => s.slot).join('+')}.grant`, scopes),
    close: async () => {
      await stopProcess(gateway);
      await stopProcess(rnChild);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** `uzpgw connect … modbus-tcp` on a free loopback port; resolves with the process and its port. */
export async function connectModbusTcp(args: string[]): Promise<{ child: Child; port: number }> {
  const child = spawnCli(['connect', ...args, 'modbus-tcp', '--listen', '127.0.0.1:0']);
  // `listening` is printed once the slot is open and requests can flow.
  const listening = await waitForJsonLine<{ address: string }>(child, (v) => v.event === 'listening');
  return { child, port: Number(listening.address.split(':').at(-1)) };
}

/** A raw Modbus TCP client: one request ADU out, the next whole reply ADU back (bytes as sent). */
export class RawModbusTcp {
  private buf = Buffer.alloc(0);
  private waiting: ((b: Buffer) => void) | null = null;
  private tid = 0x20;

  private constructor(private readonly s: Socket) {
    s.on('data', (c: Buffer) => {
      this.buf = Buffer.concat([this.buf, c]);
      this.deliver();
    });
  }

  static open(port: number): Promise<RawModbusTcp> {
    return new Promise((resolve, reject) => {
      const s = connect(port, '127.0.0.1', () => resolve(new RawModbusTcp(s)));
      s.once('error', reject);
    });
  }

  /** Sends `pdu` to `unit`; resolves with the whole reply ADU (MBAP header + PDU). */
  request(unit: number, pdu: readonly number[]): Promise<Buffer> {
    const tid = ++this.tid;
    const adu = Buffer.from([tid >> 8, tid & 0xff, 0, 0, 0, pdu.length + 1, unit, ...pdu]);
    const reply = new Promise<Buffer>((resolve) => (this.waiting = resolve));
    this.s.write(adu);
    return reply;
  }

  close(): void {
    this.s.destroy();
  }

  private deliver(): void {
    if (this.waiting === null || this.buf.length < 6) return;
    const len = 6 + this.buf.readUInt16BE(4);
    if (this.buf.length < len) return;
    const adu = this.buf.subarray(0, len);
    this.buf = this.buf.subarray(len);
    const w = this.waiting;
    this.waiting = null;
    w(Buffer.from(adu));
  }
}

/** `uzpgw connect … serial` with a stdin the test writes to (the shared spawner gives none). */
export function connectSerial(args: string[]): { child: ReturnType<typeof spawn>; stderr: () => string; write: (s: string) => void; stop: () => void; waitStderr: (needle: string, timeoutMs: number) => Promise<void> } {
  const child = spawn(process.execPath, [CLI, 'connect', ...args, 'serial'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (err += s));
  child.stdout!.resume();
  return {
    child,
    stderr: () => err,
    write: (s) => void child.stdin!.write(s),
    stop: () => {
      if (child.exitCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGTERM');
    },
    // A hang guard, not a timing assertion; on failure it says what the process printed.
    waitStderr: async (needle, timeoutMs) => {
      const end = performance.now() + timeoutMs;
      while (!err.includes(needle)) {
        if (performance.now() > end || child.exitCode !== null) throw new Error(`connect serial: no ${JSON.stringify(needle)} (exit ${child.exitCode}); stderr:\n${err}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
  };
}
