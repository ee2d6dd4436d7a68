// The reports of `uzpgw hil run` (src/hil-runner/report.ts): the JUnit file stays valid XML that the
// JUnit schema accepts (xmllint) whatever the messages hold (markup, quotes, control characters,
// astral characters), its counts match its cases, and the verdict is PASS only when every step held.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { junitXml, passed, stepLine, summaryLine, xmlText, type RunReport } from '../../src/hil-runner/report.js';
import type { StepResult } from '../../src/hil-runner/steps.js';

const dir = mkdtempSync(join(tmpdir(), 'uzpgw-junit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function validates(xml: string): boolean {
  const f = join(dir, 'r.xml');
  writeFileSync(f, xml);
  try {
    execFileSync('xmllint', ['--noout', '--schema', 'test/fixtures/junit.xsd', f], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

const step = (index: number, ok: boolean, message: string, error = false): StepResult => ({ index, kind: 'expect', title: `readings slot-${index}`, ok, ...(error ? { error } : {}), ms: 12, message, line: index + 3 });
const report = (steps: StepResult[], setupError?: string): RunReport => ({ scenario: 'sc <1> & "2"', file: 's.json', config: 'g.json', notes: ['a -> b', 'x "y"'], steps, ...(setupError !== undefined ? { setupError } : {}), ms: 1500 });

describe('hil run reports', () => {
  it('a failing run is valid JUnit with one failure per expectation that did not hold and one error per step not carried out', () => {
    const r = report([step(0, true, 'fine'), step(1, false, '3 < 5 & "quoted" <tag>'), step(2, false, 'could not be carried out: boom', true)]);
    const xml = junitXml(r);
    expect(validates(xml)).toBe(true);
    expect(xml).toMatch(/<testsuite name="sc &lt;1&gt; &amp; &quot;2&quot;" tests="3" failures="1" errors="1"/);
    expect(xml).toContain('<failure message="3 &lt; 5 &amp; &quot;quoted&quot; &lt;tag&gt;" type="readings">');
    expect(xml).toContain('<error message="could not be carried out: boom" type="expect">');
    expect(passed(r)).toBe(false);
    expect(summaryLine(r)).toMatch(/sc <1> & "2": 1 of 3 expectation\(s\) held; 1 step\(s\) could not be carried out \(1\.5 s\): FAIL/);
    expect(stepLine(r.steps[1]!)).toBe('  FAIL #2 readings slot-1 [line 4] (12 ms): 3 < 5 & "quoted" <tag>');
  });

  it('a set-up failure is an error case of its own; a run where all held passes', () => {
    const failedSetup = report([], 'socat not found');
    expect(validates(junitXml(failedSetup))).toBe(true);
    expect(junitXml(failedSetup)).toMatch(/<testcase [^>]*name="set-up"[^>]*>\s*<error message="socat not found" type="setup">/);
    expect(passed(failedSetup)).toBe(false);
    const ok = report([step(0, true, 'fine')]);
    expect(passed(ok)).toBe(true);
    expect(summaryLine(ok)).toMatch(/: PASS$/);
  });

  it('any message text still gives XML the schema accepts', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.string({ unit: 'binary' })), { maxLength: 4 }), fc.string({ unit: 'binary', maxLength: 40 }), (steps, name) => {
        const r = { ...report(steps.map(([ok, m], i) => step(i, ok, m))), scenario: name };
        return validates(junitXml(r));
      }),
      { numRuns: 60 },
    );
    expect(xmlText('a\u0000b\u0007c\ud800d\u{1F600}')).toBe('abcd\u{1F600}');
  });
});
