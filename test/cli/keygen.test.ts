// `uzpgw keygen --request`: key and enrollment request are written both or neither. A request that
// cannot be written removes the key made for it (so the retry is not refused on that key), and
// never a key file that was there before.

import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli as run } from '../helpers/cli-run.js';

const tmp = mkdtempSync(join(tmpdir(), 'uzp-cli-keygen-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const p = (f: string): string => join(tmp, f);

describe('keygen --request', () => {
  it('a request that cannot be written removes the new key, says so, and the retry succeeds', async () => {
    const r = await run('keygen', '--out', p('a.key'), '--request', p('no-dir/a.req'), '--role', 'gateway', '--json');
    expect(r.code, r.err).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toContain(`enrollment request not written: ${p('no-dir/a.req')}: its directory ${p('no-dir')} does not exist; create it first`);
    expect(r.err).toContain(`the key ${p('a.key')} made for it was removed`);
    expect(r.err).toMatch(/\[FILE_NOT_FOUND\]\n$/);
    expect(existsSync(p('a.key'))).toBe(false);
    mkdirSync(p('no-dir'));
    const again = await run('keygen', '--out', p('a.key'), '--request', p('no-dir/a.req'), '--role', 'gateway', '--json');
    expect(again.code, again.err).toBe(0);
    expect(JSON.parse(again.out)).toMatchObject({ key_file: p('a.key'), request: p('no-dir/a.req') });
  });

  it('an existing request file is not overwritten and the new key goes too', async () => {
    writeFileSync(p('b.req'), 'theirs\n');
    const r = await run('keygen', '--out', p('b.key'), '--request', p('b.req'));
    expect(r.code, r.err).toBe(1);
    expect(r.err).toMatch(/b\.req: already exists.*made for it was removed.*\[FILE_EXISTS\]/);
    expect(existsSync(p('b.key'))).toBe(false);
    expect(readFileSync(p('b.req'), 'utf8')).toBe('theirs\n');
  });

  it('a key file that was there before is never removed', async () => {
    writeFileSync(p('c.key'), 'existing key\n', { mode: 0o600 });
    const r = await run('keygen', '--out', p('c.key'), '--request', p('no-such-dir/c.req'));
    expect(r.code, r.err).toBe(1);
    expect(r.err).toMatch(/c\.key: already exists.*\[FILE_EXISTS\]/);
    expect(readFileSync(p('c.key'), 'utf8')).toBe('existing key\n');
  });

  it('--request naming the key file is a usage error, before anything is written', async () => {
    const r = await run('keygen', '--out', p('d.key'), '--request', p('./d.key'));
    expect(r.code, r.err).toBe(2);
    expect(r.err).toMatch(/--request and --out name the same file.*\[USAGE\]/);
    expect(existsSync(p('d.key'))).toBe(false);
  });
});
