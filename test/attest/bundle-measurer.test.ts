// BundleMeasurer (src/attest/bundle.ts) on a real directory: a changed file changes the root on the
// next measurement, and a measurement younger than `maxAgeMs` is reused as is (evidence asked for
// together shares one walk; docs/PROFILE.md §Attestation "Bundle measurement").

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BundleMeasurer, measureBundle } from '../../src/attest/bundle.js';
import { toHex } from '../../src/uzp/bytes.js';
import { nodeProvider } from '../../src/uzp/crypto/node.js';

const dir = mkdtempSync(join(tmpdir(), 'uzp-bundle-measurer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('bundle measurer', () => {
  it('sees a change at once when asked for a fresh measurement, and reuses a young one when allowed', async () => {
    mkdirSync(join(dir, 'dist/cli'), { recursive: true });
    writeFileSync(join(dir, 'dist/cli/main.js'), 'main\n');
    writeFileSync(join(dir, 'package.json'), '{"name":"x","version":"1.0.0"}\n');
    const m = new BundleMeasurer(nodeProvider, dir);
    const first = await m.measure();
    expect(toHex(first.root)).toBe(toHex((await measureBundle(nodeProvider, dir)).root));
    writeFileSync(join(dir, 'dist/cli/main.js'), 'main, changed and longer\n');
    // Within the reuse age: the earlier measurement, not a new walk.
    expect(toHex((await m.measure(60_000)).root)).toBe(toHex(first.root));
    // maxAgeMs 0 (the default): measured again, the change shows.
    const fresh = await m.measure();
    expect(toHex(fresh.root)).not.toBe(toHex(first.root));
    expect(toHex(fresh.root)).toBe(toHex((await measureBundle(nodeProvider, dir)).root));
  });
});
