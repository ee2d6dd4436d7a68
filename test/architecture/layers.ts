// The layer order of src/ (docs/ARCHITECTURE.md §Layers) as data, and a checker over import edges.
// Imports point downward only: a file may import its own layer or a lower tier; within one tier
// only the edges listed in SAME_TIER may cross layers. BANNED names edges a tier would otherwise
// allow. Kept apart from the test so that the test can also feed it bad imports.

import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';
import ts from 'typescript';

/** Lowest first. A layer is a directory directly under src/. */
export const TIERS: readonly (readonly string[])[] = [
  ['lib'],
  ['uzp'],
  ['hil', 'ports', 'files'],
  ['hil-devices', 'attest'],
  ['config', 'console'],
  ['gateway', 'operator', 'collector', 'rn', 'pantheon', 'flash', 'sim', 'demo', 'hil-runner'],
  // src/index.ts, the package entry (layer "(entry)"), sits with the commands at the top
  ['cli', '(entry)'],
];

/** Cross-layer imports inside one tier that are allowed, as "from -> to". */
export const SAME_TIER: ReadonlySet<string> = new Set([
  // the HIL's Modbus request classification speaks the ports' Modbus vocabulary (one owner)
  'hil -> ports',
  // the demo runs virtual equipment and makes a throwaway trust domain
  'demo -> sim',
  'demo -> pantheon',
  // the demo runs its children and trust domain with the HIL runner's (one harness, issue #15)
  'demo -> hil-runner',
  // `uzpgw hil` wires the simulators to a user's config
  'hil-runner -> sim',
  // `uzpgw hil run` makes a throwaway trust domain, starts the RN and gateway, and acts as an operator
  'hil-runner -> pantheon',
  'hil-runner -> operator',
]);

/** Edges the tier order alone would allow but the architecture forbids, as "from -> to". */
export const BANNED: ReadonlySet<string> = new Set([
  // equipment transports know nothing of the protocol: their errors and helpers come from lib/
  'ports -> uzp',
  // the web console listens; the gateway holds no listener (only the collector and operator serve it)
  'gateway -> console',
]);

/** Files allowed to import a layer that production code must never import. */
const DEMO_IMPORTERS: ReadonlySet<string> = new Set(['src/cli/demo.ts']);

export interface Edge {
  readonly from: string; // repo-relative, e.g. src/ports/serial.ts
  readonly to: string; // repo-relative target, e.g. src/uzp/errors.ts
}

export function layerOf(file: string): string | undefined {
  const parts = file.split('/');
  if (parts[0] !== 'src' || parts.length < 2) return undefined;
  return parts.length === 2 ? '(entry)' : parts[1];
}

function tierOf(layer: string): number {
  return TIERS.findIndex((t) => t.includes(layer));
}

/** Why `e` breaks the layer order, or undefined when it is allowed. */
export function violation(e: Edge): string | undefined {
  const a = layerOf(e.from);
  const b = layerOf(e.to);
  if (a === undefined) return `${e.from}: not inside a layer directory of src/`;
  if (b === undefined) return `${e.from} imports ${e.to}, which is not inside a layer directory of src/`;
  const ta = tierOf(a);
  const tb = tierOf(b);
  if (ta < 0) return `${e.from}: layer ${a} is not in the layer order (test/architecture/layers.ts, docs/ARCHITECTURE.md)`;
  if (tb < 0) return `${e.from} imports ${e.to}: layer ${b} is not in the layer order`;
  if (b === 'demo' && a !== 'demo' && !DEMO_IMPORTERS.has(e.from)) return `${e.from} imports ${e.to}: production code never imports demo/`;
  if (a === b) return undefined;
  const edge = `${a} -> ${b}`;
  if (BANNED.has(edge)) return `${e.from} imports ${e.to}: ${edge} is banned`;
  if (tb < ta) return undefined;
  if (tb === ta && SAME_TIER.has(edge)) return undefined;
  return `${e.from} imports ${e.to}: ${a} (tier ${ta}) may not import ${b} (tier ${tb})`;
}

/** Relative module specifiers of one source file: static, re-export, type-only and dynamic imports. */
export function specifiers(text: string): string[] {
  return ts
    .preProcessFile(text, true, true)
    .importedFiles.map((f) => f.fileName)
    .filter((s) => s.startsWith('.'));
}

/** The repo-relative .ts file a specifier in `from` names (ESM `.js` specifiers name `.ts` sources). */
export function resolve(from: string, spec: string): string {
  return normalize(join(dirname(from), spec)).split(sep).join('/').replace(/\.js$/, '.ts');
}

export function edgesOf(file: string, text: string): Edge[] {
  return specifiers(text).map((s) => ({ from: file, to: resolve(file, s) }));
}

/** Every .ts file under `dir`, repo-relative to `root`. */
export function sourceFiles(root: string, dir = 'src'): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(join(root, d), { withFileTypes: true })) {
      const p = `${d}/${e.name}`;
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts')) out.push(p);
    }
  };
  walk(dir);
  return out.sort();
}

export function violationsIn(root: string): string[] {
  const out: string[] = [];
  for (const f of sourceFiles(root)) {
    for (const e of edgesOf(f, readFileSync(join(root, f), 'utf8'))) {
      const v = violation(e);
      if (v !== undefined) out.push(v);
    }
  }
  return out;
}

export function repoRoot(): string {
  return relative(process.cwd(), join(dirname(new URL(import.meta.url).pathname), '..', '..')) || '.';
}
