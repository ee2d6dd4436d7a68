// checkReportPath (src/cli/report-path.ts): a report path that cannot be written is refused with a
// message that fits why; one that can is left as it was (an existing report is not truncated, a
// new one is not left behind empty).

import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkReportPath } from '../../src/cli/report-path.js';

const dir = mkdtempSync(join(tmpdir(), 'uzpgw-report-path-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('checkReportPath', () => {
  it('refuses a directory, a missing directory and a path through a file, each saying so', () => {
    mkdirSync(join(dir, 'reports'));
    writeFileSync(join(dir, 'file'), 'x');
    expect(() => checkReportPath('--junit', join(dir, 'reports'))).toThrow(/--junit .*reports: .*reports is a directory; give a file path, e\.g\. .*reports\/report\.xml/);
    expect(() => checkReportPath('--junit', join(dir, 'missing', 'r.xml'))).toThrow(/the directory .*missing does not exist; make it/);
    expect(() => checkReportPath('--junit', join(dir, 'file', 'r.xml'))).toThrow(/a part of .*file is a file, not a directory/);
  });

  it('leaves a writable path as it was', () => {
    writeFileSync(join(dir, 'old.xml'), '<old/>');
    checkReportPath('--junit', join(dir, 'old.xml'));
    expect(readFileSync(join(dir, 'old.xml'), 'utf8')).toBe('<old/>');
    checkReportPath('--junit', join(dir, 'new.xml'));
    expect(existsSync(join(dir, 'new.xml'))).toBe(false);
  });

  it('follows a link to a regular file; refuses a link to nothing, and leaves the link as it was', () => {
    writeFileSync(join(dir, 'target.xml'), '<t/>');
    symlinkSync(join(dir, 'target.xml'), join(dir, 'to-target.xml'));
    checkReportPath('--junit', join(dir, 'to-target.xml'));
    expect(readFileSync(join(dir, 'target.xml'), 'utf8')).toBe('<t/>');
    symlinkSync(join(dir, 'gone.xml'), join(dir, 'dangling.xml'));
    // Before: the open created gone.xml through the link, then the check removed the link itself.
    expect(() => checkReportPath('--junit', join(dir, 'dangling.xml'))).toThrow(/dangling\.xml is a symbolic link to nothing/);
    expect(lstatSync(join(dir, 'dangling.xml')).isSymbolicLink()).toBe(true);
    expect(existsSync(join(dir, 'gone.xml'))).toBe(false);
  });
});
