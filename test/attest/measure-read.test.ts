// The measurements read files through one reused buffer (src/attest/bundle.ts contentDigest,
// src/attest/measure.ts fileSha256), hashing piece by piece: the digests must be those of the whole
// files, at every size around the buffer's edges, and with an empty file; and a large file must not
// hold the event loop while it is hashed.

import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BundleMeasurer, bundleRootOf, fileLeaf, measureBundle, merkleTree } from '../../src/attest/bundle.js';
import { fileSha256, RuntimeMeasurer } from '../../src/attest/measure.js';
import { toHex } from '../../src/uzp/bytes.js';
import type { CryptoProvider } from '../../src/uzp/crypto/provider.js';
import { nodeProvider as provider } from '../../src/uzp/crypto/node.js';

const dir = mkdtempSync(join(tmpdir(), 'uzp-measure-read-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Around the first buffer (64 KiB) and the SHA buffer (256 KiB), and past several doublings.
const SIZES = [0, 1, 65_535, 65_536, 65_537, 262_144, 262_145, 700_001];

describe('measurements read whole files through one buffer', () => {
  it('the bundle root is that of the files read whole', async () => {
    mkdirSync(join(dir, 'bundle/dist'), { recursive: true });
    const names = SIZES.map((n) => `f${String(n).padStart(7, '0')}.js`); // sorted as the measurer sorts
    for (const [i, n] of SIZES.entries()) writeFileSync(join(dir, 'bundle/dist', names[i]!), randomBytes(n));
    const leaves = names.map((f) => fileLeaf(provider, `dist/${f}`, 'f', new Uint8Array(readFileSync(join(dir, 'bundle/dist', f)))));
    const expected = bundleRootOf(provider, [{ name: 'dist', files: leaves.length, root: merkleTree(provider, leaves) }]);
    const m = await measureBundle(provider, join(dir, 'bundle'));
    expect(m.files).toBe(SIZES.length);
    expect(toHex(m.root)).toBe(toHex(expected));
  });

  it('measurements asked for at once (sharing the read buffer) each give the right root', async () => {
    const alone = await measureBundle(provider, join(dir, 'bundle'));
    const m = new BundleMeasurer(provider, join(dir, 'bundle'));
    const roots = await Promise.all([m.measure(), m.measure(), m.measure()]);
    for (const r of roots) expect(toHex(r.root)).toBe(toHex(alone.root));
  });

  it('a large file is hashed piece by piece: the event loop turns between the pieces', async () => {
    // 4 MiB in one file: hashed whole (as before 2026-12-06) it was one call of ~90 ms of pure-JS
    // BLAKE3 with no turn of the loop, and a gateway's Modbus replies waited behind it. Measured in
    // bytes, not time: the most bytes the provider hashed between two turns of the loop (a
    // self-renewing setImmediate) must stay within one read's piece.
    const big = join(dir, 'big');
    mkdirSync(join(big, 'dist'), { recursive: true });
    const bytes = randomBytes(4 * 1024 * 1024);
    writeFileSync(join(big, 'dist', 'big.js'), bytes);
    let sinceTurn = 0;
    let most = 0;
    const hashed = (n: number): void => {
      sinceTurn += n;
      most = Math.max(most, sinceTurn);
    };
    const counting: CryptoProvider = {
      ...provider,
      blake3: (d, l) => (hashed(d.length), provider.blake3(d, l)),
      blake3Hasher: () => {
        const h = provider.blake3Hasher();
        return { update: (d) => (hashed(d.length), h.update(d)), digest: () => h.digest() };
      },
    };
    let ticking = true;
    const tick = (): void => {
      sinceTurn = 0;
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    const m = await measureBundle(counting, big);
    ticking = false;
    const leaf = fileLeaf(provider, 'dist/big.js', 'f', new Uint8Array(bytes));
    expect(toHex(m.root)).toBe(toHex(bundleRootOf(provider, [{ name: 'dist', files: 1, root: leaf }])));
    expect(most).toBeLessThanOrEqual(128 * 1024);
  });

  it.each(SIZES)('fileSha256 of a %i-byte file is its SHA-256', async (n) => {
    const f = join(dir, `sha-${n}`);
    const bytes = randomBytes(n);
    writeFileSync(f, bytes);
    expect(toHex(await fileSha256(f))).toBe(createHash('sha256').update(bytes).digest('hex'));
  });
});

// A stopping gateway stops its measurements (gateway.ts stop -> Attester.stop): a full measurement
// of a dev tree takes seconds, and the process stayed alive for it after everything else stopped.
describe('a measurement stops when asked', () => {
  it('a bundle measurement in progress rejects with ABORTED at its next file, and later ones too', async () => {
    const m = new BundleMeasurer(provider, join(dir, 'bundle'));
    const running = m.measure();
    m.stop();
    await expect(running).rejects.toMatchObject({ code: 'ABORTED' });
    await expect(m.measure()).rejects.toMatchObject({ code: 'ABORTED' });
  });

  it('a runtime hash stops at its next chunk', async () => {
    const f = join(dir, 'runtime-bin');
    writeFileSync(f, randomBytes(2_000_000));
    const r = new RuntimeMeasurer(f);
    const running = r.measure();
    r.stop();
    await expect(running).rejects.toMatchObject({ code: 'ABORTED' });
    expect(toHex(await fileSha256(f))).toBe(createHash('sha256').update(readFileSync(f)).digest('hex'));
  });
});

