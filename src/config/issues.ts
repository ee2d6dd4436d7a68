// Config problems as data. Every issue names the file, the field path, what was expected, what
// was found and how to fix it; the validators collect all of them instead of stopping at the
// first, so one `uzpgw slots check` run lists everything an installer has to change.

import { isWithin, showPath } from './path.js';
import { CommonCode, LocalError } from '../lib/errors.js';

export type Severity = 'error' | 'warning';

export interface ConfigIssue {
  readonly severity: Severity;
  /** The file the problem is in (a config file or a board file). */
  readonly file: string;
  /** 1-based line of the field in the file, when it is known. */
  readonly line?: number;
  /** Field path, e.g. `slots.rs485-1.device.units[1].registers[0].table`; '' is the top level. */
  readonly path: string;
  readonly expected: string;
  readonly found: string;
  /** How to fix it, in a sentence. */
  readonly fix: string;
}

/** `file:line: path: expected X, got Y; fix` (warnings are prefixed with `warning:`). */
export function formatIssue(i: ConfigIssue): string {
  const where = i.line !== undefined ? `${i.file}:${i.line}` : i.file;
  const tag = i.severity === 'warning' ? 'warning: ' : '';
  return `${where}: ${tag}${showPath(i.path)}: expected ${i.expected}, got ${i.found}; ${i.fix}`;
}

/** A config or board file that failed validation; `issues` holds every problem found. */
export class ConfigError extends LocalError {
  readonly issues: readonly ConfigIssue[];
  constructor(file: string, issues: readonly ConfigIssue[]) {
    const errors = issues.filter((i) => i.severity === 'error');
    const head = `${file}: ${errors.length} problem${errors.length === 1 ? '' : 's'}`;
    super(CommonCode.CONFIG_INVALID, [head, ...errors.map((i) => '  ' + formatIssue(i))].join('\n'));
    this.issues = issues;
  }
}

interface IssueInput {
  readonly expected: string;
  readonly found: string;
  readonly fix: string;
}

/**
 * Collects issues for one file. Structural problems (wrong type, unknown key, bad value) are
 * added with `add`; checks that combine several fields (against the board, across slots) use
 * `cross`, which stays silent when a field it depends on already has a structural problem —
 * the validators put placeholders there, and a second message about a placeholder is noise.
 */
export class IssueLog {
  private readonly list: ConfigIssue[] = [];
  private readonly structural: string[] = [];

  constructor(
    readonly file: string,
    private readonly lineOf: (path: string) => number | undefined = () => undefined,
  ) {}

  add(path: string, i: IssueInput, severity: Severity = 'error'): void {
    if (severity === 'error') this.structural.push(path);
    this.push(path, i, severity);
  }

  /**
   * A structural problem at `path` that another message already reports (a missing key an unknown
   * key was taken for): checks that depend on it stay silent, and nothing more is said.
   */
  reportedElsewhere(path: string): void {
    this.structural.push(path);
  }

  cross(path: string, i: IssueInput, severity: Severity = 'error'): void {
    if (this.structural.some((s) => isWithin(s, path) || isWithin(path, s))) return;
    this.push(path, i, severity);
  }

  /**
   * Like `cross`, for checks that depend only on the entry itself (its key, its place), not on the
   * fields inside it: silent only when the entry or one of its ancestors has a structural problem.
   */
  crossEntry(path: string, i: IssueInput, severity: Severity = 'error'): void {
    if (this.structural.some((s) => isWithin(path, s))) return;
    this.push(path, i, severity);
  }

  /** True when a structural error was recorded at or inside `path`. */
  hasErrorWithin(path: string): boolean {
    return this.structural.some((s) => isWithin(s, path));
  }

  /** In file order (by line; issues without a line keep their place at the end). */
  get issues(): readonly ConfigIssue[] {
    return this.list
      .map((i, n) => ({ i, n }))
      .sort((a, b) => (a.i.line ?? Infinity) - (b.i.line ?? Infinity) || a.n - b.n)
      .map((x) => x.i);
  }

  get errorCount(): number {
    return this.list.filter((i) => i.severity === 'error').length;
  }

  private push(path: string, i: IssueInput, severity: Severity): void {
    // Walk up to the nearest ancestor with a known line: a missing key has no line of its own.
    let line: number | undefined;
    for (let p: string | undefined = path; p !== undefined && line === undefined; p = parentOf(p)) line = this.lineOf(p);
    this.list.push({ severity, file: this.file, ...(line !== undefined ? { line } : {}), path, expected: i.expected, found: i.found, fix: i.fix });
  }
}

function parentOf(path: string): string | undefined {
  if (path === '') return undefined;
  const m = /^(.*?)(?:\.[A-Za-z0-9_][A-Za-z0-9_-]*|\[[^[\]]*\]|\["(?:[^"\\]|\\.)*"\])$/.exec(path);
  return m ? m[1] : '';
}
