// The reports of a `uzpgw hil run`: a human summary, JSON lines (`--json`) and a JUnit XML file
// (`--junit FILE`) in the shape CI systems read (Jenkins, GitLab, GitHub Actions reporters):
// <testsuites> / <testsuite name tests failures errors skipped time> / <testcase classname name
// time> with <failure message type> for an expectation that did not hold and <error> for a step
// or set-up that could not be carried out. Every step is a test case, so a fault that could not
// be applied is reported too; the set-up is one more case when it failed.

import type { StepResult } from './steps.js';

export interface RunReport {
  readonly scenario: string;
  readonly file: string;
  readonly config: string;
  readonly notes: readonly string[];
  readonly steps: readonly StepResult[];
  /** Steps not run because the run was interrupted or a process it needs died (JUnit <skipped>). */
  readonly skipped?: readonly SkippedStep[];
  /** Set when the run could not start (or stop) as it should, or was interrupted: no steps ran after it. */
  readonly setupError?: string;
  readonly ms: number;
}

export interface SkippedStep {
  readonly index: number;
  readonly title: string;
  readonly name?: string;
  readonly line?: number;
}

export function passed(r: RunReport): boolean {
  return r.setupError === undefined && r.steps.every((s) => s.ok);
}

export function summaryLine(r: RunReport): string {
  const expectations = r.steps.filter((s) => s.kind === 'expect');
  const held = expectations.filter((s) => s.ok).length;
  const errors = r.steps.filter((s) => s.error === true).length;
  const head = `${r.scenario}: ${held} of ${expectations.length} expectation(s) held`;
  const tail = [errors > 0 ? `${errors} step(s) could not be carried out` : '', r.setupError !== undefined ? `set-up failed: ${r.setupError}` : ''].filter((s) => s !== '').join('; ');
  return `${head}${tail !== '' ? `; ${tail}` : ''} (${(r.ms / 1000).toFixed(1)} s): ${passed(r) ? 'PASS' : 'FAIL'}`;
}

/** One line per step, as the run goes: `  ok   #3 readings rs485-1 (1204 ms): 5 reading(s) ...`. */
export function stepLine(s: StepResult): string {
  const tag = s.ok ? 'ok  ' : s.error === true ? 'ERR ' : 'FAIL';
  const where = s.line !== undefined ? ` [line ${s.line}]` : '';
  return `  ${tag} #${s.index + 1} ${s.name ?? s.title}${where} (${s.ms} ms): ${s.message}`;
}

export function stepJson(s: StepResult): object {
  return { event: 'step', step: s.index + 1, kind: s.kind, title: s.title, ...(s.name !== undefined ? { name: s.name } : {}), ...(s.line !== undefined ? { line: s.line } : {}), ok: s.ok, ...(s.error === true ? { error: true } : {}), ms: s.ms, message: s.message };
}

/** `exitCode`: the process's, when it is not the verdict's (the JUnit file could not be written). */
export function summaryJson(r: RunReport, exitCode = passed(r) ? 0 : 1): object {
  const failed = r.steps.filter((s) => !s.ok).map((s) => ({ step: s.index + 1, title: s.title, message: s.message }));
  return { event: 'summary', scenario: r.scenario, ok: passed(r), exit_code: exitCode, steps: r.steps.length, expectations: r.steps.filter((s) => s.kind === 'expect').length, failed, ...(r.skipped !== undefined ? { skipped: r.skipped.length } : {}), ...(r.setupError !== undefined ? { setup_error: r.setupError } : {}), ms: r.ms };
}

/** XML 1.0 text: the five entities escaped, characters XML cannot carry dropped. */
export function xmlText(s: string): string {
  return s
    .replace(/[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/gu, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

const secs = (ms: number): string => (ms / 1000).toFixed(3);

export function junitXml(r: RunReport): string {
  const cls = `uzpgw.hil.${r.scenario.replace(/[^A-Za-z0-9_.-]/g, '_')}`;
  const cases: string[] = [];
  if (r.setupError !== undefined) cases.push(`    <testcase classname="${xmlText(cls)}" name="set-up" time="0.000">\n      <error message="${xmlText(r.setupError)}" type="setup">${xmlText(r.setupError)}</error>\n    </testcase>`);
  for (const s of r.steps) {
    const name = `#${s.index + 1} ${s.name ?? s.title}`;
    const body = s.ok ? '' : s.error === true ? `\n      <error message="${xmlText(s.message)}" type="${s.kind}">${xmlText(s.message)}</error>\n    ` : `\n      <failure message="${xmlText(s.message)}" type="${xmlText(s.title.split(' ')[0] ?? s.kind)}">${xmlText(s.message)}${s.line !== undefined ? `\n(${xmlText(r.file)}:${s.line})` : ''}</failure>\n    `;
    cases.push(`    <testcase classname="${xmlText(cls)}" name="${xmlText(name)}" time="${secs(s.ms)}"${s.line !== undefined ? ` file="${xmlText(r.file)}" line="${s.line}"` : ''}>${body}</testcase>`);
  }
  for (const s of r.skipped ?? []) {
    const why = xmlText(`not run: ${r.setupError?.split('\n')[0] ?? 'the run stopped before it'}`);
    cases.push(`    <testcase classname="${xmlText(cls)}" name="${xmlText(`#${s.index + 1} ${s.name ?? s.title}`)}" time="0.000"${s.line !== undefined ? ` file="${xmlText(r.file)}" line="${s.line}"` : ''}>\n      <skipped message="${why}" type="stopped">${why}</skipped>\n    </testcase>`);
  }
  const skipped = r.skipped?.length ?? 0;
  const failures = r.steps.filter((s) => !s.ok && s.error !== true).length;
  const errors = r.steps.filter((s) => s.error === true).length + (r.setupError !== undefined ? 1 : 0);
  const tests = r.steps.length + skipped + (r.setupError !== undefined ? 1 : 0);
  const props = r.notes.map((n, i) => `      <property name="note.${i + 1}" value="${xmlText(n)}"/>`).join('\n');
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="uzpgw hil run" tests="${tests}" failures="${failures}" errors="${errors}" skipped="${skipped}" time="${secs(r.ms)}">`,
    `  <testsuite name="${xmlText(r.scenario)}" tests="${tests}" failures="${failures}" errors="${errors}" skipped="${skipped}" time="${secs(r.ms)}" timestamp="${new Date(Date.now() - r.ms).toISOString().slice(0, 19)}">`,
    `    <properties>\n      <property name="config" value="${xmlText(r.config)}"/>\n      <property name="scenario" value="${xmlText(r.file)}"/>${props !== '' ? `\n${props}` : ''}\n    </properties>`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}
