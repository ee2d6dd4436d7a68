// attest: how long the gateway takes to produce evidence for a verifier's nonce, on the bundle
// `uzpgw flash --board rpi-4b` installs (dist, web, production node_modules, the node runtime), vs what
// an admin would run to check the same files' integrity by hand: `sha256sum` over every one of those files (coreutils, native).
// Lower is better; ratio = evidence time / sha256sum time.
//   evidence_cold_ms  first evidence: full BLAKE3 Merkle measurement of the bundle + signing
//   evidence_warm_ms  a later evidence: files re-read only when their metadata changed (the usual case)
//   appraisal_ms      a verifier appraising that evidence against the signed manifest (vs sha256sum too)
// Every figure is the median of ROUNDS runs. See docs/BENCH.md.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CLI, QUICK, ROOT, emit, log, median, runBench, tempDir } from './lib/harness.mjs';

const BENCH = 'attest';
const ROUNDS = QUICK ? 1 : 5;
const mod = (p) => import(pathToFileURL(join(ROOT, 'dist', p)).href);

await runBench(BENCH, async () => {
  const dir = tempDir('uzp-bench-attest-');
  const target = join(dir, 'rootfs');
  execFileSync(process.execPath, [CLI, 'keygen', '--out', join(dir, 'signer.key')], { stdio: 'ignore' });
  execFileSync(process.execPath, [CLI, 'flash', '--board', 'rpi-4b', '--target', target, '--sign-key', join(dir, 'signer.key')], { stdio: 'ignore' });
  const bundleDir = join(target, 'opt/uzp-gateway');
  const [{ Attester }, { appraise }, { NonceStore }, { openManifest }, { checkConfigText }, { nodeProvider: p }, { generateIdentity }, { measureBundle }, { attestInputOf }] = await Promise.all([
    mod('attest/attester.js'),
    mod('attest/appraise.js'),
    mod('attest/nonces.js'),
    mod('attest/manifest.js'),
    mod('config/index.js'),
    mod('uzp/crypto/node.js'),
    mod('uzp/identity/identity.js'),
    mod('attest/bundle.js'),
    mod('config/attest-input.js'),
  ]);
  const configFile = join(target, 'etc/uzp-gateway/gateway.json');
  const { config, board } = checkConfigText(readFileSync(configFile, 'utf8'), configFile, { checkFiles: false, boardsDir: join(bundleDir, 'boards') });
  const manifest = openManifest(p, new Uint8Array(readFileSync(join(target, 'etc/uzp-gateway/reference-manifest.cbor')))).manifest;
  const id = generateIdentity(p);
  const files = (await measureBundle(p, bundleDir)).files;
  log(`bundle: ${files} files`);

  // Baseline: sha256sum over the same file set the evidence measures (find -type f under the
  // measured entries), the runtime's node binary (118 MB for arm64) included: the cold evidence
  // hashes it too (bench review: without it the baseline did a seventh of the file work).
  const list = execFileSync('find', ['dist', 'boards', 'web', 'node_modules', 'runtime', 'package.json', 'package-lock.json', '-type', 'f'], { cwd: bundleDir, maxBuffer: 64 << 20 }).toString().trim().split('\n');
  const shaMs = [];
  for (let i = 0; i < ROUNDS; i++) {
    const t0 = performance.now();
    execFileSync('xargs', ['-0', 'sha256sum'], { cwd: bundleDir, input: list.join('\0'), maxBuffer: 64 << 20 });
    shaMs.push(performance.now() - t0);
  }
  const sha = median(shaMs);

  const cold = [];
  const warm = [];
  const appraisal = [];
  for (let i = 0; i < ROUNDS; i++) {
    // The board runs the runtime flash installed (arm64 for rpi-4b), not this machine's node: measure that file.
    const a = new Attester({ provider: p, cid: id.cid, signer: id.signer, input: attestInputOf(config, board, p), bundleDir, runtimePath: join(target, 'opt/uzp-gateway/runtime/bin/node') });
    const nonces = new NonceStore(p);
    let t0 = performance.now();
    await a.evidence(nonces.issue());
    cold.push(performance.now() - t0);
    const nonce = nonces.issue();
    t0 = performance.now();
    const ev = await a.evidence(nonce);
    warm.push(performance.now() - t0);
    t0 = performance.now();
    const r = appraise(p, ev, manifest, { gateway: id.cid }, { nonce: { store: nonces } });
    appraisal.push(performance.now() - t0);
    if (!r.ok) throw new Error(`appraisal of a clean flash failed: ${JSON.stringify(r.claims.filter((c) => c.status === 'fail'))}`);
    if (i === 0) log(`evidence: ${ev.length} bytes, ${files} files in ${manifestGroups(manifest)} groups`);
  }
  emit(BENCH, 'evidence_cold_ms', median(cold), 'ms', 'sha256sum over the bundle files', sha);
  emit(BENCH, 'evidence_warm_ms', median(warm), 'ms', 'sha256sum over the bundle files', sha);
  emit(BENCH, 'appraisal_ms', median(appraisal), 'ms', 'sha256sum over the bundle files', sha);
});

function manifestGroups(m) {
  return m.bundle.groups.length;
}
