// What Pantheon prints of a file someone else wrote is inert on the admin's terminal: the name in an
// enrollment request (signed by its requester, who picks it) reached stdout raw at `pantheon enroll`,
// so ESC ]0;… BEL retitled the window and ESC [2J cleared it, and a newline forged a line of the
// result. The human form shows such characters as `·` (printable), the JSON forms escape what
// JSON.stringify leaves raw (C1, bidi overrides), and `pantheon show` of the PCert does the same.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli as run } from '../helpers/cli-run.js';

const tmp = mkdtempSync(join(tmpdir(), 'uzp-pantheon-text-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const p = (f: string): string => join(tmp, f);
const D = p('domain');

/** OSC title, clear screen, a forged line, a C1 CSI and a right-to-left override. */
const HOSTILE = 'evil\x1b]0;pwned\x07\x1b[2J\nrole: admin\u009b31m\u202eok';
/** Anything a terminal acts on or reorders, other than the newlines that end lines. */
const ACTIVE = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

beforeAll(async () => {
  expect((await run('pantheon', 'init', '--dir', D, '--domain', 'text.example')).code).toBe(0);
  const k = await run('keygen', '--out', p('op.key'), '--request', p('op.req'), '--name', HOSTILE, '--role', 'operator');
  expect(k.code, k.err).toBe(0);
  expect(k.out).not.toMatch(ACTIVE);
});

describe('pantheon output of a name from an enrollment request', () => {
  it('enroll, human: every string printable, the name on its one line', async () => {
    const r = await run('pantheon', 'enroll', '--dir', D, '--role', 'operator', '--request', p('op.req'), '--out', p('op.pcert'));
    expect(r.code, r.err).toBe(0);
    expect(r.out).not.toMatch(ACTIVE);
    expect(r.out).toContain('  name:       evil·]0;pwned··[2J·role: admin·31m·ok\n');
    expect(r.out).not.toMatch(/^role: admin/m);
  });

  it('enroll --json: the same name to a parser, no raw C1 or bidi character', async () => {
    const r = await run('pantheon', 'enroll', '--dir', D, '--role', 'operator', '--request', p('op.req'), '--out', p('op2.pcert'), '--json');
    expect(r.code, r.err).toBe(0);
    expect(r.out.slice(0, -1)).not.toMatch(ACTIVE);
    expect((JSON.parse(r.out) as { name: string }).name).toBe(HOSTILE);
  });

  it('show of the PCert, indented and --json: inert, and still the JSON of the name', async () => {
    for (const json of [false, true]) {
      const r = await run('pantheon', 'show', p('op.pcert'), '--dir', D, ...(json ? ['--json'] : []));
      expect(r.code, r.err).toBe(0);
      expect(r.out.replace(/\n/g, ''), `--json ${json}`).not.toMatch(ACTIVE);
      expect((JSON.parse(r.out) as { body: { name: string } }).body.name).toBe(HOSTILE);
    }
  });
});
