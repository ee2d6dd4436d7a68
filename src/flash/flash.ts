// `uzpgw flash`: installs the running package, with the Node runtime for the board's architecture,
// onto a mounted root filesystem, in seven steps.
// Everything that can be refused (board, config, signing key, missing packages) is checked before
// the first write; the bundle is swapped in whole; small files are written only when they differ;
// the reference manifest is computed over what was installed and signed last.

import { existsSync, lstatSync, rmSync, utimesSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { RUNNING_BUNDLE_DIR, softwareOf } from '../attest/measure.js';
import { fileError } from '../files/fsutil.js';
import { toHex } from '../uzp/bytes.js';
import type { CryptoProvider } from '../uzp/crypto/provider.js';
import { planBundle, type BundlePlan, type PartSize } from './bundle-plan.js';
import { chooseConfig, type ConfigSource } from './config-choice.js';
import { devicePlan } from './device-allow.js';
import { CONFIG_DIR, CONFIG_FILE, INSTALL_DIR, MANIFEST_FILE, SYSUSERS_FILE, TMPFILES_FILE, UNIT_FILE, WANTS_LINK } from './layout.js';
import { inTarget } from './target-path.js';
import { writeManifest } from './manifest-step.js';
import { formatBytes, Progress } from './progress.js';
import { signerKey } from './signer-key.js';
import { copyPlanned, newStagingDir, removeLeftovers, swapIn } from './stage.js';
import { renderSysusers, renderTmpfiles } from './system-files.js';
import { treeMatchesPlan } from './tree-compare.js';
import { renderUnit } from './unit.js';
import { chooseArch, RUNTIME_FILES, type RuntimeArch } from './runtime.js';
import { chooseRuntime, type RuntimeChoice } from './runtime-step.js';
import { ensureDirs, ensureSymlink, plannedSymlink, plannedWrite, writeIfChanged, type WriteStatus } from './write-if-changed.js';
import { FileErrorCode } from '../files/errors.js';
import { LocalError } from '../lib/errors.js';
import { loadBoard } from '../config/boards.js';

const STEPS = 7;

interface FlashOptions {
  readonly board: string;
  readonly target: string;
  readonly config?: string;
  readonly signKey?: string;
  /** --arch: the runtime's architecture, for boards that run more than one. */
  readonly arch?: RuntimeArch;
  /** --node: a node on the device (absolute path) instead of the shipped runtime. */
  readonly node?: string;
  /** --node-version: versions the manifest accepts for that node (only with `node`). */
  readonly nodeVersions?: readonly string[];
  /** Where fetched runtimes are kept (default ~/.cache/uzp-gateway/runtime). */
  readonly runtimeCache?: string;
  readonly dryRun: boolean;
  /** The package to bundle (default: the running one). */
  readonly sourceDir?: string;
  readonly env?: NodeJS.ProcessEnv;
}

type BundleStatus = 'installed' | 'replaced' | 'unchanged' | 'would install' | 'would replace';

interface OutputFile {
  /** Path under the target root. */
  readonly path: string;
  readonly what: string;
  readonly bytes?: number;
  readonly status: WriteStatus;
}

export interface FlashResult {
  readonly dryRun: boolean;
  readonly board: string;
  readonly target: string;
  readonly bundle: {
    readonly dir: string;
    readonly status: BundleStatus;
    readonly files: number;
    readonly bytes: number;
    readonly packages: number;
    readonly parts: readonly PartSize[];
    readonly droppedPrebuildBytes: number;
  };
  readonly config: { readonly file: string; readonly source: ConfigSource; readonly from: string };
  readonly files: readonly OutputFile[];
  readonly signer: { readonly file: string; readonly cid?: string; readonly created: boolean };
  readonly manifest?: { readonly file: string; readonly status: WriteStatus; readonly bundleRoot: string; readonly files: number };
  /** Dry run only: every file the bundle would install, with its size. */
  readonly bundleFiles?: readonly { readonly path: string; readonly bytes: number }[];
  /** The node the unit runs, and the versions the manifest accepts. */
  readonly node: { readonly path: string; readonly versions: readonly string[] };
  /** The runtime shipped in the image; absent with --node. */
  readonly runtime?: RuntimeChoice['shipped'];
  readonly warnings: readonly string[];
}

/** The small files flash writes, rendered up front so --dry-run can report them. */
interface SmallFile {
  readonly devicePath: string;
  readonly what: string;
  readonly data: string;
}

/**
 * The absolute target and whether it exists. A missing target is created later (after every check
 * passed), so a tree can also be staged in a plain directory for an image build; a path that exists
 * but is not a directory is refused.
 */
function checkTarget(target: string): { abs: string; exists: boolean } {
  const abs = resolve(target);
  let st;
  try {
    st = lstatSync(abs);
  } catch {
    return { abs, exists: false };
  }
  if (!st.isDirectory()) throw new LocalError(FileErrorCode.FILE_INVALID, `${abs}: not a directory (--target is the mounted root filesystem)`);
  return { abs, exists: true };
}

function partsLine(plan: BundlePlan): string {
  return plan.parts.map((p) => `${p.name} ${p.files} files ${formatBytes(p.bytes)}`).join(', ');
}

export async function flash(p: CryptoProvider, o: FlashOptions, stderr: NodeJS.WritableStream): Promise<FlashResult> {
  const progress = new Progress(stderr, STEPS);
  const warnings: string[] = [];
  const warn = (w: string): void => {
    warnings.push(w);
    progress.note(`warning: ${w}`);
  };
  const sourceDir = o.sourceDir ?? RUNNING_BUNDLE_DIR;

  // 1. Everything that can refuse the flash, before any write.
  progress.next(`checking board ${o.board}, target, config and signing key`);
  // An --arch the board does not run is a usage error before any file named is read (README
  // "Exit status"); chooseRuntime below would find it only after the config was read.
  if (o.arch !== undefined && o.node === undefined) chooseArch(loadBoard(o.board, join(sourceDir, 'boards')), o.arch);
  const { abs: target, exists: targetExists } = checkTarget(o.target);
  const choice = chooseConfig({ target, boardId: o.board, ...(o.config !== undefined ? { configFile: o.config } : {}), boardsDir: join(sourceDir, 'boards') });
  choice.warnings.forEach(warn);
  // The runtime for the board's architecture (or the --node the user brings): found, or fetched
  // into the cache, and checked against the lock before anything is written to the target.
  const runtime = await chooseRuntime(
    {
      sourceDir,
      board: choice.board,
      dryRun: o.dryRun,
      ...(o.arch !== undefined ? { arch: o.arch } : {}),
      ...(o.node !== undefined ? { node: o.node } : {}),
      ...(o.nodeVersions !== undefined ? { nodeVersions: o.nodeVersions } : {}),
      ...(o.runtimeCache !== undefined ? { cache: o.runtimeCache } : {}),
      ...(o.env !== undefined ? { env: o.env } : {}),
    },
    (m) => progress.note(m),
  );
  runtime.warnings.forEach(warn);
  // The bundle, file by file: refuses a missing production package before the signing key is made.
  const plan = planBundle(sourceDir, runtime.source !== undefined ? { dir: runtime.source.dir, files: RUNTIME_FILES } : undefined);
  const key = signerKey(p, { ...(o.signKey !== undefined ? { file: o.signKey } : {}), dryRun: o.dryRun, ...(o.env !== undefined ? { env: o.env } : {}) });
  if (key.created) progress.note(`${o.dryRun ? 'would create' : 'created'} the manifest signing key ${key.file} (0600); keep it: verifiers trust manifests by its CID`);
  if (typeof process.getuid === 'function' && process.getuid() !== 0 && !o.dryRun) {
    warn(`not running as root: installed files will be owned by uid ${process.getuid()}, who could then change the code the service runs; flash production images with sudo`);
  }

  if (!targetExists) {
    progress.note(`${target} does not exist, so it is not a mounted root filesystem; ${o.dryRun ? 'it would be created' : 'creating it'} (check --target if you meant a mounted card)`);
    if (!o.dryRun) ensureDirs(target);
  }

  // 2. What the bundle holds.
  const dropped = plan.droppedPrebuilds.reduce((n, d) => n + d.bytes, 0);
  progress.next(`bundle: ${plan.files.length} files, ${formatBytes(plan.bytes)} (${partsLine(plan)}); left out ${formatBytes(dropped)} of non-Linux prebuilds`);
  if (plan.absentOptional.length > 0) progress.note(`optional packages not installed here, not bundled: ${plan.absentOptional.join(', ')}`);

  const cfg = choice.config;
  const devices = devicePlan(choice.board, cfg);
  const small: SmallFile[] = [
    { devicePath: CONFIG_FILE, what: `gateway config (${choice.source === 'default' ? 'default for the board' : choice.source === 'kept' ? 'kept as installed' : `from ${choice.from}`})`, data: choice.text },
    { devicePath: SYSUSERS_FILE, what: 'system user uzp-gateway (dialout)', data: renderSysusers({ tpm: cfg.attestation.tpm !== 'off' }) },
    { devicePath: TMPFILES_FILE, what: 'state directory /var/lib/uzp-gateway (0700)', data: renderTmpfiles() },
    {
      devicePath: UNIT_FILE,
      what: 'systemd unit',
      data: renderUnit({ node: runtime.node, board: choice.board.id, swversion: softwareOf(sourceDir).swversion, devices, ...(cfg.audit.file !== undefined ? { auditDir: dirname(cfg.audit.file) } : {}) }),
    },
  ];
  const bundleDir = inTarget(target, INSTALL_DIR);
  const bundleSame = treeMatchesPlan(bundleDir, plan.files);
  const bundleExists = (() => {
    try {
      return lstatSync(bundleDir).isDirectory();
    } catch {
      return false;
    }
  })();
  const bundleInfo = (status: BundleStatus): FlashResult['bundle'] => ({
    dir: bundleDir,
    status,
    files: plan.files.length,
    bytes: plan.bytes,
    packages: plan.packages,
    parts: plan.parts,
    droppedPrebuildBytes: dropped,
  });
  const base = {
    board: choice.board.id,
    target,
    config: { file: inTarget(target, CONFIG_FILE), source: choice.source, from: choice.from },
    signer: { file: key.file, ...(key.identity !== undefined ? { cid: toHex(key.identity.cid) } : {}), created: key.created },
    node: { path: runtime.node, versions: [...runtime.nodeVersions] },
    ...(runtime.shipped !== undefined ? { runtime: runtime.shipped } : {}),
  };

  if (o.dryRun) {
    progress.next('dry run: nothing written');
    const files: OutputFile[] = small.map((f) => ({ path: inTarget(target, f.devicePath), what: f.what, bytes: Buffer.byteLength(f.data), status: plannedWrite(inTarget(target, f.devicePath), f.data, 0o644) }));
    files.push({ path: inTarget(target, WANTS_LINK, { final: 'keep' }), what: `enable link -> ${UNIT_FILE}`, status: plannedSymlink(inTarget(target, WANTS_LINK, { final: 'keep' }), UNIT_FILE) });
    // The manifest's content depends on the installed bundle, so a dry run can only say whether it exists.
    files.push({ path: inTarget(target, MANIFEST_FILE), what: 'signed reference manifest (computed after install)', status: existsSync(inTarget(target, MANIFEST_FILE)) ? 'updated' : 'created' });
    const bundleFiles = plan.files.map((f) => ({ path: join(bundleDir, f.rel), bytes: f.size }));
    return { dryRun: true, ...base, bundle: bundleInfo(bundleSame ? 'unchanged' : bundleExists ? 'would replace' : 'would install'), files, bundleFiles, warnings };
  }
  if (key.identity === undefined) throw new LocalError(FileErrorCode.FILE_NOT_FOUND, `${key.file}: signing key unavailable`);

  // 3-5. Stage and swap the bundle, unless the installed one is already byte-identical.
  removeLeftovers(bundleDir);
  let bundleStatus: BundleStatus = 'unchanged';
  if (bundleSame) {
    progress.next(`${bundleDir} already holds this bundle; keeping it`);
    progress.next('node_modules unchanged');
    progress.next('nothing to swap');
  } else {
    const staging = newStagingDir(bundleDir);
    try {
      const head = plan.files.filter((f) => f.part !== 'node_modules' && f.part !== 'runtime');
      progress.next(`copying dist, boards, package files: ${head.length} files, ${formatBytes(head.reduce((n, f) => n + f.size, 0))}`);
      copyPlanned(head, staging);
      const nm = plan.parts.find((x) => x.name === 'node_modules');
      progress.next(`copying node_modules: ${plan.packages} packages, ${formatBytes(nm?.bytes ?? 0)}`);
      copyPlanned(plan.files.filter((f) => f.part === 'node_modules'), staging);
      const rt = plan.files.filter((f) => f.part === 'runtime');
      if (rt.length > 0) {
        progress.note(`copying the Node runtime ${runtime.shipped?.name ?? ''}@${runtime.shipped?.version ?? ''}: ${formatBytes(rt.reduce((n, f) => n + f.size, 0))}`);
        copyPlanned(rt, staging);
      }
      progress.next(`swapping the new bundle into ${bundleDir}`);
      bundleStatus = swapIn(staging, bundleDir);
    } finally {
      rmSync(staging, { recursive: true, force: true });
    }
  }

  // 6. Config, system user, state directory, unit, enable link.
  progress.next('writing config, system user, tmpfiles entry, unit and enable link');
  const files: OutputFile[] = [];
  for (const f of small) {
    const path = inTarget(target, f.devicePath);
    files.push({ path, what: f.what, bytes: Buffer.byteLength(f.data), status: writeIfChanged(path, f.data, 0o644) });
  }
  // Where the domain admin's trust anchor and RN Set Statement go (docs/FLASH.md).
  ensureDirs(inTarget(target, `${CONFIG_DIR}/trust`));
  files.push({ path: inTarget(target, WANTS_LINK, { final: 'keep' }), what: `enable link -> ${UNIT_FILE}`, status: ensureSymlink(inTarget(target, WANTS_LINK, { final: 'keep' }), UNIT_FILE) });
  if (files.some((f) => (f.path.endsWith(SYSUSERS_FILE) || f.path.endsWith(TMPFILES_FILE)) && f.status !== 'unchanged')) {
    // systemd-sysusers.service runs at boot only when /usr is newer than /etc/.updated
    // (ConditionNeedsUpdate=/etc): touching /usr is the documented way to ask for that after an offline change.
    const usr = inTarget(target, '/usr');
    try {
      const now = new Date();
      utimesSync(usr, now, now);
    } catch (e) {
      throw fileError(e, usr, 'update its mtime (so systemd-sysusers runs at the next boot)');
    }
  }

  // 7. Measure what was installed and sign the reference values.
  progress.next('measuring the installed bundle and signing the reference manifest');
  const m = await writeManifest(p, { target, node: runtime.nodeVersions, runtime: runtime.source !== undefined, signer: key.identity });
  m.warnings.forEach(warn);
  files.push({ path: m.file, what: 'signed reference manifest', bytes: m.signed.bytes.length, status: m.status });
  return {
    dryRun: false,
    ...base,
    bundle: bundleInfo(bundleStatus),
    files,
    manifest: { file: m.file, status: m.status, bundleRoot: toHex(m.signed.manifest.bundle.root), files: m.signed.manifest.bundle.files },
    warnings,
  };
}
