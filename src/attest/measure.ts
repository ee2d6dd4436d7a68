// Measurements both sides compute the same way: the gateway (Attester) for its evidence, `uzpgw flash`
// for the reference manifest. Keeping them in one place is what makes a fresh flash appraise clean.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CryptoProvider } from '../uzp/crypto/provider.js';
import { FileErrorCode } from '../files/errors.js';
import { CommonCode, LocalError } from '../lib/errors.js';
import { readFileCapped } from '../files/fsutil.js';
import { parseJsonText, utf8Text } from '../files/json.js';
import type { BoardFacts, RuntimeMeasurement, SlotClaimInput, SlotClaims } from './types.js';

/** The bundle this code runs from: the directory holding dist/ (…/dist/attest/measure.js -> …). */
export const RUNNING_BUNDLE_DIR = dirname(dirname(dirname(fileURLToPath(import.meta.url))));

/**
 * A broker URL as a claim may carry it: user name and password removed (evidence is shown to every
 * holder of a Grant for this gateway and kept by verifiers; credentials are not theirs to see).
 */
export function withoutCredentials(u: string): string {
  try {
    const url = new URL(u);
    url.username = '';
    url.password = '';
    return url.toString().replace(/\/$/, '');
  } catch {
    return u;
  }
}

/** slot id -> slot claims (RFC 9711 §4.2.18 submods, before device identity), in the input's order. */
export function slotClaimsOf(slots: readonly SlotClaimInput[]): Record<string, SlotClaims> {
  const out: Record<string, SlotClaims> = {};
  for (const s of slots) out[s.id] = { device: s.device, driver: s.driver, port: s.port };
  return out;
}

/** BLAKE3-256 of the board profile file as installed. */
export function boardDigest(p: CryptoProvider, board: BoardFacts): Uint8Array {
  return p.blake3(new Uint8Array(readFileSync(board.file)));
}

/** BLAKE3-256 of the bundle's package-lock.json; of the empty string for a bundle without one. */
export async function lockfileDigest(p: CryptoProvider, bundleDir: string): Promise<Uint8Array> {
  try {
    return p.blake3(new Uint8Array(await readFile(join(bundleDir, 'package-lock.json'))));
  } catch {
    return p.blake3(new Uint8Array(0));
  }
}

/** The one buffer fileSha256 reads through. */
const SHA_READ_BYTES = 256 * 1024;

/**
 * SHA-256 of an executable, streamed (the Node binary is ~120 MB; the gateway must not hold it in
 * memory). node:crypto directly rather than the CryptoProvider: this is a file digest for humans and
 * sha256sum to compare, not protocol cryptography, and OpenSSL's streaming hash is what makes it cheap.
 * Read through one reused buffer, not a stream: a stream's fresh 1 MiB chunk per read, freed only
 * at the next GC, left glibc's main heap at ~63 MB for good after hashing the Node binary (the
 * gateway-rss regression of 2026-12-05, docs/BENCH.md "Memory").
 */
export async function fileSha256(path: string, stopped: () => boolean = () => false): Promise<Uint8Array> {
  const h = createHash('sha256');
  const buf = Buffer.allocUnsafeSlow(SHA_READ_BYTES);
  const fh = await open(path, 'r');
  try {
    for (;;) {
      if (stopped()) throw new LocalError(CommonCode.ABORTED, `hashing ${path} stopped`);
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      h.update(buf.subarray(0, bytesRead));
    }
  } finally {
    await fh.close();
  }
  return new Uint8Array(h.digest());
}

/**
 * The runtime measurement of one executable, re-hashed only when the file at the path changed
 * (inode, size, mtime or ctime): replacing the binary by rename, or rewriting it, is seen at the next
 * evidence, while repeated evidence costs one stat.
 */
export class RuntimeMeasurer {
  private last: { key: string; value: RuntimeMeasurement } | undefined;
  private stopped = false;
  constructor(private readonly path: string) {}

  /** Ends a hash in progress at its next chunk (ABORTED), as BundleMeasurer.stop does. */
  stop(): void {
    this.stopped = true;
  }

  async measure(): Promise<RuntimeMeasurement> {
    const st = await stat(this.path, { bigint: true });
    const key = `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
    if (this.last?.key === key) return this.last.value;
    const value = { path: this.path, sha256: await fileSha256(this.path, () => this.stopped) };
    this.last = { key, value };
    return value;
  }
}

const MAX_PACKAGE_JSON = 256 * 1024;

/** swname / swversion from the bundle's package.json. */
export function softwareOf(bundleDir: string): { swname: string; swversion: string } {
  try {
    const file = join(bundleDir, 'package.json');
    const pkg = parseJsonText(utf8Text(readFileCapped(file, MAX_PACKAGE_JSON, 'package.json').bytes, file, FileErrorCode.FILE_INVALID), file, FileErrorCode.FILE_INVALID) as { name?: unknown; version?: unknown };
    return { swname: typeof pkg.name === 'string' ? pkg.name : 'unknown', swversion: typeof pkg.version === 'string' ? pkg.version : '0.0.0' };
  } catch {
    return { swname: 'unknown', swversion: '0.0.0' };
  }
}
