// The Grant model through every real part (issue #10): Grants issued by `uzpgw pantheon grant` for
// two slots of one gateway stay usable after a third is issued (no Grant disables another); one Grant
// may reach several slots, each with its own purposes; a typo'd purpose is refused at issue, so it
// can never lock anyone out. RN and gateway are processes; the operator is a real Endpoint.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readArtefactFile } from '../../src/files/artefact-file.js';
import { writeKeyFile } from '../../src/files/keyfile.js';
import { SlotChannel } from '../../src/operator/slot-channel.js';
import { EchoDevice } from '../../src/sim/echo-device.js';
import { PtyPair } from '../../src/sim/pty.js';
import { openSerial } from '../../src/sim/serial-open.js';
import { loadTrustAnchor } from '../../src/files/trust-anchor.js';
import { TrustStore } from '../../src/uzp/artefacts/trust.js';
import { Endpoint } from '../../src/uzp/endpoint.js';
import { RnLink } from '../../src/uzp/link/rn-link.js';
import { generateIdentity, type Identity } from '../../src/uzp/identity/identity.js';
import { nodeProvider as p } from '../../src/uzp/crypto/node.js';
import { toHex } from '../../src/uzp/bytes.js';
import { spawnCli, stopAll, waitForJsonLine } from '../helpers/processes.js';

let dir: string;
const at = (f: string): string => join(dir, f);
let rnAddress: string;
let gw: Identity;
let op: Identity;
const cleanups: (() => unknown)[] = [];
const SLOTS = ['tty-1', 'tty-2'] as const;

async function cli(...argv: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const c = spawnCli(argv);
  const { code } = await c.exited;
  return { code, out: c.stdout(), err: c.stderr() };
}

/** `uzpgw pantheon grant` for the operator and gateway, checked against the gateway's config. */
async function issue(out: string, ...slotsAndPurposes: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return cli('pantheon', 'grant', '--dir', at('domain'), '--subject', toHex(op.cid), '--audience', toHex(gw.cid), '--config', at('gateway.json'), ...slotsAndPurposes, '--out', at(out), '--json');
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'uzp-grants-'));
  expect((await cli('pantheon', 'init', '--dir', at('domain'), '--domain', 'grants.test')).code).toBe(0);
  const rn = generateIdentity(p);
  gw = generateIdentity(p);
  op = generateIdentity(p);
  for (const [name, id, role] of [['rn', rn, undefined], ['gw', gw, 'gateway'], ['op', op, 'operator']] as const) {
    writeKeyFile(at(`${name}.key`), id);
    if (role !== undefined) expect((await cli('pantheon', 'enroll', '--dir', at('domain'), '--public', toHex(id.publicKey), '--role', role, '--out', at(`${name}.pcert`))).code).toBe(0);
  }
  const rnChild = spawnCli(['rn', '--listen', '127.0.0.1:0', '--trust', at('domain/trust.json'), '--key', at('rn.key'), '--log-level', 'warn']);
  rnAddress = (await waitForJsonLine<{ address: string }>(rnChild, (v) => v.event === 'listening')).address;
  expect((await cli('pantheon', 'rn-set', '--dir', at('domain'), '--rn', `${toHex(rn.publicKey)}@${rnAddress}`, '--out', at('rn-set.uzp'))).code).toBe(0);

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
}, 60_000);

afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
});

/** A session under the Grant in `file`, then a serial channel on `slot`: echoes "ping" or says why not. */
async function echoThrough(file: string, slot: string): Promise<string> {
  const trust = new TrustStore({ provider: p, rootPublicKey: loadTrustAnchor(p, at('domain/trust.json')).rootPublicKey });
  trust.setRnSet(readArtefactFile(at('rn-set.uzp')));
  const pcert = readArtefactFile(at('op.pcert'));
  const link = await RnLink.attach({ address: rnAddress, trust, identity: { seed: op.seed, pcert } });
  try {
    const session = await new Endpoint({ trust, identity: { cid: op.cid, signer: op.signer, pcert }, link }).connect(gw.cid, readArtefactFile(at(file)));
    try {
      const ch = await SlotChannel.open(session, slot, 'serial').catch((e: Error) => e);
      if (ch instanceof Error) return `refused: ${ch.message}`;
      const got: number[] = [];
      const back = new Promise<void>((resolve) => ch.on('data', (b: Uint8Array) => (got.push(...b), got.length >= 4 && resolve())));
      await ch.write(new TextEncoder().encode('ping'));
      await back;
      return new TextDecoder().decode(Uint8Array.from(got));
    } finally {
      session.close();
    }
  } finally {
    link.close();
  }
}

describe('Grants issued with pantheon grant, used through RN and gateway processes', () => {
  it('two Grants for two slots both stay usable after a third Grant is issued', async () => {
    const a = await issue('a.grant', '--slot', 'tty-1', '--purpose', 'serial.read', '--purpose', 'serial.write');
    const b = await issue('b.grant', '--slot', 'tty-2', '--purpose', 'serial.read', '--purpose', 'serial.write');
    expect([a.code, b.code], a.err + b.err).toEqual([0, 0]);
    expect(await echoThrough('a.grant', 'tty-1')).toBe('ping');
    const c = await issue('c.grant', '--slot', 'tty-1', '--purpose', 'serial.read');
    expect(JSON.parse(c.out).nonce).toBe(3);
    // Profile version 1 refused a and b from here on (GRANT_NONCE_STALE at the RN).
    expect(await echoThrough('b.grant', 'tty-2')).toBe('ping');
    expect(await echoThrough('a.grant', 'tty-1')).toBe('ping');
  }, 60_000);

  it('one Grant reaches two slots, each with its own purposes', async () => {
    const r = await issue('both.grant', '--slot', 'tty-1', '--slot', 'tty-2@echo-tty-2', '--purpose', 'tty-1/serial.read', '--purpose', 'tty-1/serial.write', '--purpose', 'tty-2/serial.read', '--purpose', 'tty-2/serial.write');
    expect(r.code, r.err).toBe(0);
    expect(await echoThrough('both.grant', 'tty-1')).toBe('ping');
    expect(await echoThrough('both.grant', 'tty-2')).toBe('ping');
    // A Grant for tty-1 only does not reach tty-2.
    expect(await echoThrough('a.grant', 'tty-2')).toMatch(/^refused: .*SLOT_NOT_GRANTED/);
  }, 60_000);

  it('a typo in a purpose is refused at issue, so it never becomes a Grant that locks anyone out', async () => {
    const r = await issue('typo.grant', '--slot', 'tty-1', '--purpose', 'serial.raed');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/"serial\.raed" is not a purpose the gateway knows; did you mean serial\.read\?/);
    expect(await echoThrough('a.grant', 'tty-1')).toBe('ping');
  }, 60_000);
});
