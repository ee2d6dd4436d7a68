// The signed reference manifest of a flashed root: reference values computed by the same code the
// gateway's Attester measures with (src/attest/reference.ts), over what was *installed* — the
// bundle under <root>/opt/uzp-gateway, the installed config and board file — so a freshly flashed
// gateway appraises clean. Re-flashing the same thing keeps the existing file (same bytes), since
// a new signature would differ only by its timestamp.

import { join } from 'node:path';
import { openManifest, readManifestFile, signManifest, type SignedManifest } from '../attest/manifest.js';
import { fileSha256, slotClaimsOf } from '../attest/measure.js';
import { referenceFor } from '../attest/reference.js';
import type { ReferenceManifest } from '../attest/types.js';
import { readFileCapped } from '../files/fsutil.js';
import { utf8Text } from '../files/json.js';
import { attestInputOf } from '../config/attest-input.js';
import { MAX_CONFIG_FILE } from '../config/load.js';
import { equal } from '../uzp/bytes.js';
import type { CryptoProvider } from '../uzp/crypto/provider.js';
import type { Identity } from '../uzp/identity/identity.js';
import { validateConfigText } from './config-choice.js';
import { CONFIG_DIR, CONFIG_FILE, INSTALL_DIR, MANIFEST_FILE, RUNTIME_NODE } from './layout.js';
import { inTarget } from './target-path.js';
import { writeIfChanged, type WriteStatus } from './write-if-changed.js';
import { CommonCode } from '../lib/errors.js';

interface ManifestInput {
  readonly target: string;
  readonly node: readonly string[];
  /** Whether flash installed the runtime (then its binary is pinned by digest). */
  readonly runtime: boolean;
  readonly signer: Identity;
}

interface ManifestResult {
  readonly file: string;
  readonly status: WriteStatus;
  readonly signed: SignedManifest;
  readonly warnings: readonly string[];
}

/** Structural equality of decoded values: byte strings by content, absent == undefined. */
function sameValue(a: unknown, b: unknown): boolean {
  if (a instanceof Uint8Array || b instanceof Uint8Array) return a instanceof Uint8Array && b instanceof Uint8Array && equal(a, b);
  if (Array.isArray(a) || Array.isArray(b)) return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => sameValue(x, b[i]));
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) {
    const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined).sort();
    const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined).sort();
    return ka.length === kb.length && ka.every((k, i) => k === kb[i] && sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
  }
  return a === b;
}

/** The installed manifest when it still says exactly `m`, is signed by `signer` and has not expired. */
function reusable(p: CryptoProvider, file: string, m: ReferenceManifest, signer: Identity): SignedManifest | undefined {
  try {
    // Capped and non-blocking (readManifestFile): a FIFO there hung flash at this step for good, and
    // /dev/zero ended it with std::bad_alloc, after the bundle, unit and config were written.
    const old = readManifestFile(p, file, { trusted: [signer.cid], now: Math.floor(Date.now() / 1000) });
    return sameValue(old.manifest, m) ? old : undefined;
  } catch {
    return undefined; // absent, unreadable, another signer or stale: write a new one
  }
}

/**
 * Computes the reference values of the flashed root, from the installed config as read at its
 * installed path (so a gateway started from the flashed tree in place appraises clean), and says
 * when the device — reading it at /etc/uzp-gateway/gateway.json — would measure differently: the
 * config digest writes paths inside the config's directory relative, so an absolute
 * /etc/uzp-gateway/... path, or a relative virtual_dir, measures differently there.
 */
async function installedReference(p: CryptoProvider, target: string, node: readonly string[], runtime: boolean): Promise<{ reference: ReferenceManifest; warnings: string[] }> {
  const bundleDir = inTarget(target, INSTALL_DIR);
  const installed = inTarget(target, CONFIG_FILE);
  const boardsDir = join(bundleDir, 'boards');
  const text = utf8Text(readFileCapped(installed, MAX_CONFIG_FILE, 'gateway config').bytes, installed, CommonCode.CONFIG_INVALID);
  const { config, board } = validateConfigText(text, installed, boardsDir);
  // The runtime's digest as installed in the target, under the path the unit runs it by.
  const rt = runtime ? { runtime: { path: RUNTIME_NODE, sha256: await fileSha256(inTarget(target, RUNTIME_NODE)) } } : {};
  const reference = await referenceFor(p, { bundleDir, input: attestInputOf(config, board, p), node, ...rt });
  const warnings: string[] = [];
  if (installed !== CONFIG_FILE) {
    const device = attestInputOf(validateConfigText(text, CONFIG_FILE, boardsDir).config, board, p);
    if (!equal(device.configDigest, reference.config) || !sameValue(slotClaimsOf(device.slots), reference.slots)) {
      warnings.push(
        `the reference manifest matches this config as installed under ${target}; read from ${CONFIG_FILE} on the device it measures differently (an absolute path into ${CONFIG_DIR}/ or a relative virtual_dir): write such paths relative to the config, or absolute outside ${CONFIG_DIR}/`,
      );
    }
  }
  return { reference, warnings };
}

export async function writeManifest(p: CryptoProvider, i: ManifestInput): Promise<ManifestResult> {
  const file = inTarget(i.target, MANIFEST_FILE);
  const { reference: m, warnings } = await installedReference(p, i.target, i.node, i.runtime);
  const kept = reusable(p, file, m, i.signer);
  if (kept !== undefined) return { file, status: 'unchanged', signed: kept, warnings };
  const bytes = signManifest(p, i.signer.signer, m);
  const status = writeIfChanged(file, bytes, 0o644);
  return { file, status, signed: openManifest(p, bytes), warnings };
}
