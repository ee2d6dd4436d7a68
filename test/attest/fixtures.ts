// A small installed bundle, a virtual-board config and an Attester over them, for attestation tests.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Attester } from '../../src/attest/attester.js';
import { fileSha256 } from '../../src/attest/measure.js';
import { referenceFor } from '../../src/attest/reference.js';
import { RUNTIME_NODE } from '../../src/flash/layout.js';
import type { DeviceIdentity, ReferenceManifest } from '../../src/attest/types.js';
import { attestInputOf } from '../../src/config/attest-input.js';
import { checkConfigText } from '../../src/config/index.js';
import type { Board, GatewayConfig } from '../../src/config/types.js';
import { nodeProvider } from '../../src/uzp/crypto/node.js';
import { generateIdentity, type Identity } from '../../src/uzp/identity/identity.js';
import { virtualConfig, type JsonValue } from '../config/fixtures.js';

export const p = nodeProvider;

export const BUNDLE_FILES: Record<string, string> = {
  'package.json': JSON.stringify({ name: 'uzp-gateway', version: '0.1.0' }),
  'package-lock.json': JSON.stringify({ lockfileVersion: 3, packages: {} }),
  'dist/cli/main.js': 'console.log("main")\n',
  'dist/attest/attester.js': 'export {}\n',
  'node_modules/pino/index.js': 'module.exports = {}\n',
  'node_modules/@serialport/bindings-cpp/index.js': 'module.exports = {}\n',
  'node_modules/@serialport/bindings-cpp/node_modules/debug/index.js': '//\n',
  'docs/README.md': 'not measured\n',
};

export class Fixture {
  readonly dir = mkdtempSync(join(tmpdir(), 'uzp-attest-'));
  readonly bundleDir = join(this.dir, 'bundle');
  readonly id: Identity = generateIdentity(p);
  /** Stands in for the node executable the Attester measures (its bytes are all that matter there). */
  readonly runtimePath = join(this.dir, 'bundle/runtime/bin/node');

  constructor() {
    for (const [f, text] of Object.entries(BUNDLE_FILES)) this.write(`bundle/${f}`, text);
    this.write('bundle/runtime/bin/node', '\x7fELF node v24 stand-in\n');
  }

  write(rel: string, text: string): void {
    const f = join(this.dir, rel);
    mkdirSync(dirname(f), { recursive: true });
    writeFileSync(f, text);
  }

  config(mutate: (c: { [k: string]: JsonValue }) => void = () => {}): { config: GatewayConfig; board: Board } {
    const c = virtualConfig();
    mutate(c);
    const r = checkConfigText(JSON.stringify(c), join(this.dir, 'gateway.json'), { checkFiles: false });
    if (r.config === undefined || r.board === undefined) throw new Error(`fixture config invalid: ${JSON.stringify(r.issues)}`);
    return { config: r.config, board: r.board };
  }

  attester(o: { config?: GatewayConfig; board?: Board; identities?: Record<string, DeviceIdentity>; now?: () => number } = {}): Attester {
    const { config, board } = o.config && o.board ? { config: o.config, board: o.board } : this.config();
    return new Attester({
      provider: p,
      cid: this.id.cid,
      signer: this.id.signer,
      input: attestInputOf(config, board, p),
      bundleDir: this.bundleDir,
      runtimePath: this.runtimePath,
      identityOf: async (slot) => o.identities?.[slot],
      ...(o.now ? { now: o.now } : {}),
      bootIdPath: join(this.dir, 'no-boot-id'),
      dtModelPath: join(this.dir, 'no-dt-model'),
    });
  }

  /** The reference flash would sign; `runtime: false` as when flashed with --node (no runtime pinned). */
  async reference(o: { config?: GatewayConfig; board?: Board; runtime?: boolean } = {}): Promise<ReferenceManifest> {
    const { config, board } = o.config && o.board ? { config: o.config, board: o.board } : this.config();
    const runtime = o.runtime === false ? {} : { runtime: { path: RUNTIME_NODE, sha256: await fileSha256(this.runtimePath) } };
    return referenceFor(p, { bundleDir: this.bundleDir, input: attestInputOf(config, board, p), node: [process.version], ...runtime });
  }

  close(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
