// `uzpgw runtime fetch [--arch ARCH]`: puts the pinned Node runtime for an architecture where
// `uzpgw flash` finds it, ahead of time (to flash offline later, or to copy the cache to a machine
// without registry access). Uses the same lookup and checks as flash (src/flash/runtime.ts).

import { RUNNING_BUNDLE_DIR } from '../attest/measure.js';
import { formatBytes } from '../flash/progress.js';
import { defaultRuntimeCache, fetchRuntime, locateRuntime, lockedRuntimePin, RUNTIME_ARCHES, type RuntimeSource } from '../flash/runtime.js';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { archFlag } from './arch-flag.js';
import { defineCommand, defineGroup } from './define.js';

const DESCRIPTION = [
  `Finds the Node runtime this package pins (package-lock.json: node-linux-<arch>) for an architecture:`,
  `in this package's node_modules, in the runtime cache (${defaultRuntimeCache().replace(/^.*\/\.cache\//, '~/.cache/')}), or else`,
  'fetches it into the cache with `npm pack` (your npm registry, proxy and auth settings apply) and',
  `checks the tarball against the lock's sha512 integrity before extracting bin/node, LICENSE and`,
  'package.json. `uzpgw flash` does the same when it needs a runtime; run this first to flash offline.',
  'Exit status: 0 ready, 1 not available (the message says why), 2 usage error.',
].join('\n');

const fetchCommand = defineCommand({
  name: 'runtime fetch',
  summary: 'make the pinned Node runtime for an architecture available to flash (cache or fetch)',
  description: DESCRIPTION,
  flags: {
    arch: { type: 'string', placeholder: 'ARCH', describe: `${RUNTIME_ARCHES.join('|')} (default: this machine's, ${process.arch})` },
  },
  json: 'one JSON object: {arch, name, version, integrity, from: "package"|"cache"|"fetched", dir, node_bytes}',
  async run({ flags }, io) {
    const arch = archFlag(flags.arch ?? process.arch);
    const pin = lockedRuntimePin(RUNNING_BUNDLE_DIR, arch);
    const cache = defaultRuntimeCache();
    const src: RuntimeSource = locateRuntime(RUNNING_BUNDLE_DIR, pin, arch, cache) ?? (await fetchRuntime(pin, arch, cache, (m) => io.stderr.write(`runtime: ${m}\n`)));
    const bytes = statSync(join(src.dir, 'bin/node')).size;
    if (flags.json) {
      io.stdout.write(JSON.stringify({ arch, name: pin.name, version: pin.version, integrity: pin.integrity, from: src.from, dir: src.dir, node_bytes: bytes }) + '\n');
    } else {
      const how = { package: "this package's node_modules", cache: 'the runtime cache', fetched: 'fetched now, integrity checked against package-lock.json' }[src.from];
      io.stdout.write(`${pin.name}@${pin.version} (${arch}) ready: ${src.dir} (${how}); bin/node ${formatBytes(bytes)}\n`);
    }
    return 0;
  },
});

export const command = defineGroup({
  name: 'runtime',
  summary: 'the Node runtime flashed images run (fetch it ahead of a flash)',
  description: DESCRIPTION,
  subcommands: [fetchCommand],
});
