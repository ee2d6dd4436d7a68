// A trust domain made with `uzpgw pantheon`, a real RN process and a real gateway process on the
// virtual board with two serial-raw slots (tty-1, tty-2), each an echo device on a PTY: what the
// Grant-model and operator-explanation tests issue Grants against and connect through.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeKeyFile } from '../../src/files/keyfile.js';
import { EchoDevice } from '../../src/sim/echo-device.js';
import { PtyPair } from '../../src/sim/pty.js';
import { openSerial } from '../../src/sim/serial-open.js';
import { toHex } from '../../src/uzp/bytes.js';
import { nodeProvider as p } from '../../src/uzp/crypto/node.js';
import { generateIdentity, type Identity } from '../../src/uzp/identity/identity.js';
import { spawnCli, stopAll, waitForJsonLine, type Child } from './processes.js';

export const SLOTS = ['tty-1', 'tty-2'] as const;

export interface CliResult {
  readonly code: number | null;
  readonly out: string;
  readonly err: string;
}

export interface TwoSlotGateway {
  readonly dir: string;
  at(f: string): string;
  readonly rnAddress: string;
  /** The RN process (tests that take it away). */
  readonly rn: Child;
  readonly gw: Identity;
  readonly op: Identity;
  /** `uzpgw ARGV` as a child process, to its exit. */
  cli(...argv: string[]): Promise<CliResult>;
  /** `pantheon grant` from the operator to the gateway, checked against the gateway's config. */
  issue(out: string, ...slotsAndPurposes: string[]): Promise<CliResult>;
  /** `uzpgw connect` session flags for the operator with the Grant in `grantFile`. */
  connectArgs(grantFile: string): string[];
  close(): Promise<void>;
}

async function cli(...argv: string[]): Promise<CliResult> {
  const c = spawnCli(argv);
  const { code } = await c.exited;
  return { code, out: c.stdout(), err: c.stderr() };
}

async function must(r: Promise<CliResult>, what: string): Promise<void> {
  const x = await r;
  if (x.code !== 0) throw new Error(`${what} failed (exit ${x.code}): ${x.err}`);
}

export async function startTwoSlotGateway(): Promise<TwoSlotGateway> {
  const dir = mkdtempSync(join(tmpdir(), 'uzp-two-slot-'));
  const at = (f: string): string => join(dir, f);
  const cleanups: (() => unknown)[] = [];
  await must(cli('pantheon', 'init', '--dir', at('domain'), '--domain', 'two-slot.test'), 'pantheon init');
  const rn = generateIdentity(p);
  const gw = generateIdentity(p);
  const op = generateIdentity(p);
  for (const [name, id, role] of [['rn', rn, undefined], ['gw', gw, 'gateway'], ['op', op, 'operator']] as const) {
    writeKeyFile(at(`${name}.key`), id);
    if (role !== undefined) await must(cli('pantheon', 'enroll', '--dir', at('domain'), '--public', toHex(id.publicKey), '--role', role, '--out', at(`${name}.pcert`)), 'pantheon enroll');
  }
  const rnChild = spawnCli(['rn', '--listen', '127.0.0.1:0', '--trust', at('domain/trust.json'), '--key', at('rn.key'), '--log-level', 'warn']);
  const rnAddress = (await waitForJsonLine<{ address: string }>(rnChild, (v) => v.event === 'listening')).address;
  await must(cli('pantheon', 'rn-set', '--dir', at('domain'), '--rn', `${toHex(rn.publicKey)}@${rnAddress}`, '--out', at('rn-set.uzp')), 'pantheon rn-set');

  mkdirSync(at('pty'));
  mkdirSync(at('dev'));
  for (const slot of SLOTS) {
    const pty = await PtyPair.open({ linkA: at(`pty/${slot}`), linkB: at(`dev/${slot}`) });
    cleanups.push(() => pty.close());
    const port = await openSerial(pty.linkB, 115200);
    new EchoDevice(port);
    cleanups.push(() => new Promise<void>((r) => port.close(() => r())));
  }
  writeFileSync(
    at('gateway.json'),
    JSON.stringify({
      kind: 'uzp-gw/gateway-config',
      identity: { key: 'gw.key', pcert: 'gw.pcert' },
      trust: { anchor: 'domain/trust.json', rn_set: 'rn-set.uzp' },
      board: 'virtual',
      virtual_dir: 'pty',
      slots: Object.fromEntries(SLOTS.map((s) => [s, { device: { id: `echo-${s}`, driver: 'serial-raw', serial: { baud: 115200 } } }])),
    }),
  );
  const gateway = spawnCli(['gateway', '--config', at('gateway.json'), '--log-level', 'info']);
  await waitForJsonLine(gateway, (v) => v.event === 'rn.attached');
  return {
    dir,
    at,
    rnAddress,
    rn: rnChild,
    gw,
    op,
    cli,
    issue: (out, ...rest) => cli('pantheon', 'grant', '--dir', at('domain'), '--subject', toHex(op.cid), '--audience', toHex(gw.cid), '--config', at('gateway.json'), ...rest, '--out', at(out), '--json'),
    connectArgs: (grantFile) => [
      ...['--key', at('op.key'), '--pcert', at('op.pcert'), '--trust', at('domain/trust.json'), '--rn-set', at('rn-set.uzp')],
      ...['--grant', at(grantFile), '--gateway', toHex(gw.cid)],
    ],
    async close() {
      for (const c of cleanups.reverse()) await c();
      await stopAll();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
