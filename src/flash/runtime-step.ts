// Which Node the flashed unit runs, decided before anything is written: the pinned runtime for the
// board's architecture (found or fetched, src/flash/runtime.ts), or the --node PATH the user brings.

import type { Board } from '../config/types.js';
import { LocalError, CommonCode } from '../lib/errors.js';
import { RUNTIME_NODE } from './layout.js';
import { chooseArch, defaultRuntimeCache, fetchRuntime, locateRuntime, lockedRuntimePin, type RuntimeArch, type RuntimeSource } from './runtime.js';

export interface RuntimeRequest {
  readonly sourceDir: string;
  readonly board: Board;
  /** --arch */
  readonly arch?: RuntimeArch;
  /** --node PATH: a node on the device instead of the shipped runtime. */
  readonly node?: string;
  /** --node-version (only with --node). */
  readonly nodeVersions?: readonly string[];
  readonly cache?: string;
  readonly dryRun: boolean;
  readonly env?: NodeJS.ProcessEnv;
}

export interface RuntimeChoice {
  /** The node path in the unit's Exec lines. */
  readonly node: string;
  /** Node versions the reference manifest accepts. */
  readonly nodeVersions: readonly string[];
  /** The shipped runtime; absent with --node, and in a dry run that would have to fetch it. */
  readonly source?: RuntimeSource;
  /** What is shipped, for the summary: absent with --node. */
  readonly shipped?: { readonly arch: RuntimeArch; readonly name: string; readonly version: string; readonly from: RuntimeSource['from'] | 'would fetch' };
  readonly warnings: readonly string[];
}

export async function chooseRuntime(r: RuntimeRequest, note: (m: string) => void): Promise<RuntimeChoice> {
  if (r.node !== undefined) {
    if (r.arch !== undefined) throw new LocalError(CommonCode.USAGE, '--arch picks the runtime flash installs; with --node PATH you bring your own: give one of them');
    const warnings: string[] = [];
    try {
      chooseArch(r.board, undefined);
    } catch (e) {
      warnings.push(`${(e as Error).message}: flashing anyway because --node was given`);
    }
    warnings.push(`--node ${r.node}: the image runs a node flash did not install, so the reference manifest cannot pin its binary (appraisal checks only its version: ${(r.nodeVersions ?? [process.version]).join(', ')})`);
    return { node: r.node, nodeVersions: r.nodeVersions ?? [process.version], warnings };
  }
  if (r.nodeVersions !== undefined) throw new LocalError(CommonCode.USAGE, '--node-version goes with --node: the shipped runtime states its own version');
  const arch = chooseArch(r.board, r.arch);
  const pin = lockedRuntimePin(r.sourceDir, arch);
  const cache = r.cache ?? defaultRuntimeCache(r.env);
  const nodeVersions = [`v${pin.version}`];
  const found = locateRuntime(r.sourceDir, pin, arch, cache);
  if (found !== undefined) {
    return { node: RUNTIME_NODE, nodeVersions, source: found, shipped: { arch, name: pin.name, version: pin.version, from: found.from }, warnings: [] };
  }
  if (r.dryRun) {
    note(`would fetch ${pin.name}@${pin.version} into ${cache} (about 50 MB; the sizes below leave it out)`);
    return { node: RUNTIME_NODE, nodeVersions, shipped: { arch, name: pin.name, version: pin.version, from: 'would fetch' }, warnings: [] };
  }
  const fetched = await fetchRuntime(pin, arch, cache, note);
  return { node: RUNTIME_NODE, nodeVersions, source: fetched, shipped: { arch, name: pin.name, version: pin.version, from: 'fetched' }, warnings: [] };
}
