// `uzpgw hil run` as a user runs it, for the runner's end-to-end tests: the built CLI in a process
// of its own, a scenario written from steps, and the JSON lines it printed, parsed.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnCli, type Child } from './processes.js';

export const VIRTUAL_CONFIG = 'docs/examples/hil/virtual/gateway.json';

export interface HilStepLine {
  event: 'step';
  step: number;
  kind: string;
  title: string;
  ok: boolean;
  error?: boolean;
  message: string;
}

export interface HilRunResult {
  code: number | null;
  steps: HilStepLine[];
  summary: Record<string, unknown>;
  notes: string[];
  stdout: string;
  stderr: string;
}

/** Writes `steps` as a scenario in `dir` (named `name`) and returns its path. */
export function writeScenario(dir: string, name: string, steps: readonly object[]): string {
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify({ kind: 'uzp-gw/hil-scenario', name, steps }, null, 2));
  return file;
}

/** Starts `uzpgw hil run --json` on `scenario` (extra flags after). */
export function startHilRun(scenario: string, extra: readonly string[] = [], config = VIRTUAL_CONFIG): Child {
  return spawnCli(['hil', 'run', '--config', config, '--scenario', scenario, '--json', ...extra]);
}

/** The JSON lines a `hil run --json` child printed, sorted by kind. */
export function hilLines(child: Child, code: number | null): HilRunResult {
  const lines = child
    .stdout()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  return {
    code,
    steps: lines.filter((l) => l.event === 'step') as unknown as HilStepLine[],
    summary: lines.find((l) => l.event === 'summary') ?? {},
    notes: lines.filter((l) => l.event === 'note').map((l) => String(l.text)),
    stdout: child.stdout(),
    stderr: child.stderr(),
  };
}

/** Runs the scenario to its end. */
export async function runHilCli(scenario: string, extra: readonly string[] = [], config = VIRTUAL_CONFIG): Promise<HilRunResult> {
  const child = startHilRun(scenario, extra, config);
  const { code } = await child.exited;
  return hilLines(child, code);
}
