// `uzpgw flash --board ID --target DIR`: installs this package, a config, the system user and the
// hardened systemd unit onto a mounted root filesystem, and signs the reference manifest
// verifiers appraise the gateway against. Progress on stderr; summary (or --json) on stdout.

import { join } from 'node:path';
import { RUNNING_BUNDLE_DIR } from '../attest/measure.js';
import { nodeProvider } from '../uzp/crypto/node.js';
import { flash, type FlashResult } from '../flash/flash.js';
import { ENROLL_REQUEST_NAME, MANIFEST_FILE, RUNTIME_NODE, STATE_DIR } from '../flash/layout.js';
import { defaultRuntimeCache, RUNTIME_ARCHES } from '../flash/runtime.js';
import { formatBytes } from '../flash/progress.js';
import { defaultSignerKeyPath } from '../flash/signer-key.js';
import { SAFE_EXEC_PATH } from '../flash/unit.js';
import { archFlag } from './arch-flag.js';
import { knownBoardId } from './boards-dir.js';
import { defineCommand } from './define.js';
import { usageError } from './flags.js';

const DESCRIPTION = [
  'Installs this package onto a mounted root filesystem: the release bundle (dist, boards, web, production',
  `node_modules) and the pinned Node runtime for the board's architecture under /opt/uzp-gateway`,
  '(arm64 for every Raspberry Pi profile; fetched with npm pack into the runtime cache when this',
  'machine is another architecture), the gateway config under /etc/uzp-gateway, a system user in',
  'dialout, a hardened systemd unit (enabled), and a reference manifest signed with your key for',
  'verifiers, which pins the runtime binary too. Boards that run only 32-bit userlands are refused.',
  'Idempotent: flashing the same thing again changes nothing. Exit status: 0 done, 1 failed,',
  '2 usage error. See docs/FLASH.md.',
].join('\n');

/** process.version form; the manifest stores exact strings (at most 32 characters, 16 versions). */
const NODE_VERSION = /^v\d{1,4}\.\d{1,4}\.\d{1,4}(?:-[0-9A-Za-z.-]{1,16})?$/;
const MAX_NODE_VERSIONS = 16;

function nodeVersions(given: readonly string[]): string[] | undefined {
  if (given.length === 0) return undefined;
  for (const v of given) if (!NODE_VERSION.test(v)) throw usageError(`--node-version: expected a version like ${process.version}, got ${JSON.stringify(v.slice(0, 40))}`);
  const out = [...new Set(given)];
  if (out.length > MAX_NODE_VERSIONS) throw usageError(`--node-version: at most ${MAX_NODE_VERSIONS} versions`);
  return out;
}

function toJson(r: FlashResult): Record<string, unknown> {
  return {
    dry_run: r.dryRun,
    board: r.board,
    target: r.target,
    bundle: {
      dir: r.bundle.dir,
      status: r.bundle.status,
      files: r.bundle.files,
      bytes: r.bundle.bytes,
      packages: r.bundle.packages,
      parts: r.bundle.parts,
      dropped_prebuild_bytes: r.bundle.droppedPrebuildBytes,
    },
    config: r.config,
    files: r.files,
    signer: r.signer,
    ...(r.manifest !== undefined ? { manifest: { file: r.manifest.file, status: r.manifest.status, bundle_root: r.manifest.bundleRoot, files: r.manifest.files } } : {}),
    node: r.node,
    ...(r.runtime !== undefined ? { runtime: r.runtime } : {}),
    warnings: r.warnings,
    ...(r.bundleFiles !== undefined ? { bundle_files: r.bundleFiles } : {}),
  };
}

function human(r: FlashResult): string {
  const b = r.bundle;
  const lines = [r.dryRun ? `dry run: flashing ${r.board} onto ${r.target} would write` : `flashed ${r.board} onto ${r.target}`];
  lines.push(`  ${b.status.padEnd(13)} ${b.dir}  (${b.files} files, ${formatBytes(b.bytes)}; ${b.packages} packages)`);
  for (const p of b.parts) lines.push(`  ${''.padEnd(13)}   ${p.name}: ${p.files} files, ${formatBytes(p.bytes)}`);
  for (const f of r.files) lines.push(`  ${(r.dryRun && f.status !== 'unchanged' ? `would ${f.status === 'created' ? 'create' : 'update'}` : f.status).padEnd(13)} ${f.path}${f.bytes !== undefined ? ` (${formatBytes(f.bytes)})` : ''}  ${f.what}`);
  lines.push('');
  if (r.manifest !== undefined) {
    lines.push(`reference manifest: ${r.manifest.file}`);
    lines.push(`  signer CID:   ${r.signer.cid ?? '-'} (key ${r.signer.file})`);
    lines.push(`  bundle root:  ${r.manifest.bundleRoot} (${r.manifest.files} files)`);
    lines.push(`  node:         ${r.node.path} (${r.node.versions.join(' or ')}${r.runtime !== undefined ? `, ${r.runtime.name} for ${r.runtime.arch}, pinned by SHA-256` : ', not pinned: --node'})`);
    lines.push('');
    lines.push(`next: boot the board. First boot creates the identity and writes ${STATE_DIR}/${ENROLL_REQUEST_NAME};`);
    lines.push('      enroll it and install the PCert and trust files as docs/FLASH.md describes.');
    lines.push(`      Give verifiers ${MANIFEST_FILE} and trust signer ${r.signer.cid ?? ''}.`);
  } else lines.push(`signing key: ${r.signer.file}${r.signer.created ? ' (would be created)' : ''}`);
  for (const w of r.warnings) lines.push(`warning: ${w}`);
  return lines.join('\n') + '\n';
}

export const command = defineCommand({
  name: 'flash',
  summary: 'install the gateway onto a mounted root filesystem (bundle, config, unit, signed manifest)',
  description: DESCRIPTION,
  flags: {
    board: { type: 'string', placeholder: 'ID', required: true, describe: 'board profile of the target (`uzpgw boards` lists them)' },
    target: { type: 'string', placeholder: 'DIR', required: true, describe: "the mounted root filesystem to install into (e.g. the SD card's rootfs)" },
    config: { type: 'string', placeholder: 'FILE', describe: 'gateway config to install (replaces the installed one); default: keep the installed one, else write a default for the board' },
    'sign-key': { type: 'string', placeholder: 'FILE', describe: `key that signs the reference manifest (default ${defaultSignerKeyPath().replace(/^.*\/\.config\//, '~/.config/')}, created if missing)` },
    arch: { type: 'string', placeholder: 'ARCH', describe: `runtime architecture (${RUNTIME_ARCHES.join('|')}) for boards that run more than one, e.g. generic-linux; default: this machine's when the board runs it, else the board's first` },
    node: { type: 'string', placeholder: 'PATH', describe: `use this node on the device instead of shipping the runtime (default: ${RUNTIME_NODE}, installed by flash); the manifest then cannot pin its binary` },
    'node-version': { type: 'list', placeholder: 'V', describe: `with --node: Node version(s) that node is, e.g. v24.22.3 (default this machine's, ${process.version})` },
    'dry-run': { type: 'boolean', describe: 'print what would be written, with sizes (with --json: every bundle file too), and write nothing' },
  },
  json: 'one JSON object: {dry_run, board, target, bundle, config, files, signer, manifest?, node: {path, versions}, runtime?: {arch, name, version, from}, warnings, bundle_files?} (progress stays on stderr)',
  async run({ flags }, io) {
    const { board, target, node } = flags;
    const arch = flags.arch !== undefined ? archFlag(flags.arch) : undefined;
    if (node !== undefined && !SAFE_EXEC_PATH.test(node)) throw usageError(`--node: expected an absolute path of letters, digits and ._+@/- (it goes into the unit's ExecStart), got ${JSON.stringify(node.slice(0, 80))}`);
    const versions = nodeVersions(flags['node-version']);
    knownBoardId(board, join(RUNNING_BUNDLE_DIR, 'boards'), '--board: ');
    const config = flags.config;
    const signKey = flags['sign-key'];
    const r = await flash(
      nodeProvider,
      {
        board,
        target,
        dryRun: flags['dry-run'],
        runtimeCache: defaultRuntimeCache(),
        ...(arch !== undefined ? { arch } : {}),
        ...(node !== undefined ? { node } : {}),
        ...(versions !== undefined ? { nodeVersions: versions } : {}),
        ...(config !== undefined ? { config } : {}), ...(signKey !== undefined ? { signKey } : {}) },
      io.stderr,
    );
    io.stdout.write(flags.json ? JSON.stringify(toJson(r)) + '\n' : human(r));
    return 0;
  },
});
