// What goes into the release bundle, file by file, before anything is copied: dist/, boards/, web/,
// package.json, package-lock.json, the production node_modules (src/flash/lock-packages.ts) and
// the Node runtime under runtime/ (src/flash/runtime.ts).
// Planning first lets --dry-run report exact sizes, lets a repeated flash see that the installed
// tree already matches, and refuses a missing package before a single byte is written.

import { lstatSync, readdirSync, readlinkSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { fileError, readFileCapped } from '../files/fsutil.js';
import { utf8Text } from '../files/json.js';
import { productionPackages } from './lock-packages.js';
import { FileErrorCode } from '../files/errors.js';
import { LocalError } from '../lib/errors.js';

/** Native serialport prebuilds that run on the boards we flash: arm64 (Pi 4/5/Zero 2 W on a 64-bit OS), armv7 (32-bit OS), x86_64 (generic-linux). */
const KEEP_PREBUILDS: readonly string[] = ['linux-arm', 'linux-arm64', 'linux-x64'];
const MAX_LOCK_FILE = 16 * 1024 * 1024;

type PartName = 'dist' | 'boards' | 'web' | 'package files' | 'node_modules' | 'runtime';

export interface PlannedFile {
  /** Path inside the bundle, '/'-separated. */
  readonly rel: string;
  readonly src: string;
  readonly kind: 'file' | 'symlink';
  /** 0o755 when the source has the owner-execute bit (the bundle measurement counts it), else 0o644. */
  readonly mode: number;
  readonly size: number;
  readonly linkTarget?: string;
  readonly part: PartName;
}

export interface PartSize {
  readonly name: PartName;
  readonly files: number;
  readonly bytes: number;
}

export interface BundlePlan {
  readonly sourceDir: string;
  readonly files: readonly PlannedFile[];
  readonly parts: readonly PartSize[];
  readonly bytes: number;
  /** Production packages copied. */
  readonly packages: number;
  /** Optional packages of the lock that are not installed here (platform-specific); not an error. */
  readonly absentOptional: readonly string[];
  /** Prebuild directories left out (other platforms), with their sizes. */
  readonly droppedPrebuilds: readonly { readonly dir: string; readonly bytes: number }[];
}

function lstatOrUndefined(p: string): Stats | undefined {
  try {
    return lstatSync(p);
  } catch {
    return undefined;
  }
}

/** Total size of the regular files under `dir` (for reporting what was dropped). */
function treeBytes(dir: string): number {
  let n = 0;
  for (const name of readdirSync(dir)) {
    const st = lstatSync(join(dir, name));
    if (st.isDirectory()) n += treeBytes(join(dir, name));
    else if (st.isFile()) n += st.size;
  }
  return n;
}

interface WalkContext {
  readonly out: PlannedFile[];
  readonly part: PartName;
  /** Return false to leave a directory out (called with the bundle-relative path). */
  readonly keepDir: (rel: string, abs: string) => boolean;
}

function addEntry(ctx: WalkContext, abs: string, rel: string, st: Stats): void {
  if (st.isDirectory()) {
    if (!ctx.keepDir(rel, abs)) return;
    for (const name of readdirSync(abs).sort()) {
      const child = join(abs, name);
      const cst = lstatSync(child);
      addEntry(ctx, child, `${rel}/${name}`, cst);
    }
  } else if (st.isSymbolicLink()) {
    ctx.out.push({ rel, src: abs, kind: 'symlink', mode: 0o777, size: 0, linkTarget: readlinkSync(abs), part: ctx.part });
  } else if (st.isFile()) {
    ctx.out.push({ rel, src: abs, kind: 'file', mode: (st.mode & 0o100) !== 0 ? 0o755 : 0o644, size: st.size, part: ctx.part });
  }
  // sockets, FIFOs and device nodes are not part of a package; they are never copied
}

function walk(ctx: WalkContext, sourceDir: string, rel: string): void {
  const abs = join(sourceDir, rel);
  const st = lstatOrUndefined(abs);
  if (st === undefined) throw new LocalError(FileErrorCode.FILE_NOT_FOUND, `${abs}: missing from the running package`);
  addGuarded(ctx, abs, rel, st);
}

/** addEntry with fs errors (an unreadable directory in the package) turned into LocalErrors naming the path. */
function addGuarded(ctx: WalkContext, abs: string, rel: string, st: Stats): void {
  try {
    addEntry(ctx, abs, rel, st);
  } catch (e) {
    throw fileError(e, abs, 'read it for the bundle');
  }
}

/** The package's package-lock.json, as text (capped). */
export function readLock(sourceDir: string): { readonly file: string; readonly text: string } {
  const file = join(sourceDir, 'package-lock.json');
  return { file, text: utf8Text(readFileCapped(file, MAX_LOCK_FILE, 'package lock').bytes, file, FileErrorCode.FILE_INVALID) };
}

/** Where the runtime goes inside the bundle (/opt/uzp-gateway/runtime on the device). */
export const RUNTIME_PART_DIR = 'runtime';

/**
 * Plans the bundle of the package at `sourceDir` (the running one: RUNNING_BUNDLE_DIR), with the
 * runtime's `files` from `runtime.dir` under runtime/ when a runtime is shipped.
 */
export function planBundle(sourceDir: string, runtime?: { readonly dir: string; readonly files: readonly string[] }): BundlePlan {
  const main = join(sourceDir, 'dist', 'cli', 'main.js');
  if (lstatOrUndefined(main)?.isFile() !== true) {
    throw new LocalError(FileErrorCode.FILE_NOT_FOUND, `${main}: the package is not built; run \`npm run build\` first`);
  }
  const lock = readLock(sourceDir);
  const packages = productionPackages(lock.text, lock.file);

  const files: PlannedFile[] = [];
  const everything = (): boolean => true;
  walk({ out: files, part: 'dist', keepDir: everything }, sourceDir, 'dist');
  walk({ out: files, part: 'boards', keepDir: everything }, sourceDir, 'boards');
  // The web console's page (src/console/assets.ts reads it from here, beside dist/).
  walk({ out: files, part: 'web', keepDir: everything }, sourceDir, 'web');
  walk({ out: files, part: 'package files', keepDir: everything }, sourceDir, 'package.json');
  walk({ out: files, part: 'package files', keepDir: everything }, sourceDir, 'package-lock.json');

  const absentOptional: string[] = [];
  const droppedPrebuilds: { dir: string; bytes: number }[] = [];
  let copied = 0;
  for (const pkg of packages) {
    const abs = join(sourceDir, pkg.path);
    const st = lstatOrUndefined(abs);
    if (st === undefined || !st.isDirectory()) {
      if (pkg.optional) {
        absentOptional.push(pkg.path);
        continue;
      }
      throw new LocalError(
        FileErrorCode.FILE_NOT_FOUND,
        `production package ${pkg.path} is in package-lock.json but not installed at ${abs}; run \`npm ci\` in ${sourceDir} and flash again`,
      );
    }
    copied++;
    const keepDir = (rel: string, dirAbs: string): boolean => {
      const inside = rel.slice(pkg.path.length + 1);
      // Nested node_modules are packages of their own: the lock lists them (prod ones get their own entry).
      if (inside === 'node_modules') return false;
      const m = /^prebuilds\/([^/]+)$/.exec(inside);
      if (m !== null && !KEEP_PREBUILDS.includes(m[1]!)) {
        droppedPrebuilds.push({ dir: rel, bytes: treeBytes(dirAbs) });
        return false;
      }
      return true;
    };
    addGuarded({ out: files, part: 'node_modules', keepDir }, abs, pkg.path, st);
  }

  for (const f of runtime?.files ?? []) {
    const abs = join(runtime!.dir, f);
    const st = lstatOrUndefined(abs);
    if (st === undefined || !st.isFile()) throw new LocalError(FileErrorCode.FILE_NOT_FOUND, `${abs}: missing from the Node runtime`);
    addGuarded({ out: files, part: 'runtime', keepDir: everything }, abs, `${RUNTIME_PART_DIR}/${f}`, st);
  }

  const parts: PartSize[] = (['dist', 'boards', 'web', 'package files', 'node_modules', 'runtime'] as const).map((name) => {
    const of = files.filter((f) => f.part === name);
    return { name, files: of.length, bytes: of.reduce((n, f) => n + f.size, 0) };
  }).filter((x) => x.name !== 'runtime' || x.files > 0);
  return {
    sourceDir,
    files,
    parts,
    bytes: parts.reduce((n, p) => n + p.bytes, 0),
    packages: copied,
    absentOptional,
    droppedPrebuilds,
  };
}
