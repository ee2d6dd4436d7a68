// `uzpgw publish grant|revoke` as a user types them: every flag problem is a usage error (exit 2,
// [USAGE], naming the flag), never a wire-format error from the artefact codec; and a revocation
// names only slots that exist, since one of a slot nobody has withdraws nothing.

import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli as run } from '../helpers/cli-run.js';

const tmp = mkdtempSync(join(tmpdir(), 'uzp-cli-publish-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const p = (f: string): string => join(tmp, f);

let col = '';
const CONFIG = p('gateway.json');

beforeAll(async () => {
  expect((await run('keygen', '--out', p('gw.key'))).code).toBe(0);
  const c = await run('keygen', '--out', p('col.key'), '--json');
  expect(c.code, c.err).toBe(0);
  col = (JSON.parse(c.out) as { cid: string }).cid;
  writeFileSync(
    CONFIG,
    JSON.stringify({
      kind: 'uzp-gw/gateway-config',
      identity: { key: 'gw.key', pcert: 'gw.pcert' },
      trust: { anchor: 'trust.json', rn_set: 'rn-set.uzp' },
      publish: { collectors: [{ cid: col, grant: 'publish.grant', discovery_grant: 'discovery.grant' }] },
      board: 'virtual',
      virtual_dir: 'pty',
      slots: Object.fromEntries(['tty-1', 'tty-2'].map((s) => [s, { device: { id: `sensor-${s}`, driver: 'serial-line', serial: { baud: 115200 } } }])),
    }),
  );
  const g = await run('publish', 'grant', '--config', CONFIG, '--collector', col, '--slot', 'tty-1', '--out', p('discovery.grant'));
  expect(g.code, g.err).toBe(0);
});

const revocations = (): string => (existsSync(p('discovery-revocations.json')) ? readFileSync(p('discovery-revocations.json'), 'utf8') : '');

describe('publish revoke --slot', () => {
  it('refuses a slot neither the grant nor the config has, naming the slots there are, and writes nothing', async () => {
    const before = revocations();
    const r = await run('publish', 'revoke', '--config', CONFIG, '--collector', col, '--slot', 'tty-9', '--json');
    expect(r.code, r.err).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toMatch(/--slot tty-9: not a slot of the grant .*discovery\.grant nor of .*gateway\.json \(slots: tty-1, tty-2;.*\[USAGE\]$/m);
    const star = await run('publish', 'revoke', '--config', CONFIG, '--collector', col, '--slot', '*');
    expect(star.code, star.err).toBe(2);
    expect(star.err).toMatch(/without --slot the whole grant is withdrawn/);
    expect(revocations()).toBe(before);
  });

  // Before: "DIR: not a regular file (expected a artefact)", no flag named.
  it('--grant a directory or a missing file names the flag and the file', async () => {
    for (const [file, message] of [[tmp, 'not a regular file (expected a UZP artefact) [FILE_INVALID]'], [p('no-such.grant'), 'no such file']] as const) {
      const r = await run('publish', 'revoke', '--config', CONFIG, '--collector', col, '--grant', file);
      expect([r.code, r.err]).toEqual([1, expect.stringContaining(`uzpgw publish revoke: --grant ${file}: ${message}`)]);
    }
  });

  it('takes a slot of the grant or of the config; --json names the slots withdrawn', async () => {
    const r = await run('publish', 'revoke', '--config', CONFIG, '--collector', col, '--slot', 'tty-1', '--slot', 'tty-1', '--json');
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ slots: ['tty-1'] });
    const other = await run('publish', 'revoke', '--config', CONFIG, '--collector', col, '--slot', 'tty-2');
    expect(other.code, other.err).toBe(0);
  });
});

describe('publish revoke --grant that is no Discovery Grant', () => {
  it('names the flag and file, with one code, and adds nothing', async () => {
    writeFileSync(p('junk'), Buffer.from([0xff, 0xfe, 0x1c, 0xbe, 0x00, 0x7f]));
    const before = revocations();
    const r = await run('publish', 'revoke', '--config', CONFIG, '--collector', col, '--grant', p('junk'));
    expect(r.code).toBe(1);
    expect(r.err).toContain(`: --grant ${p('junk')}: invalid CBOR`);
    expect([...r.err.matchAll(/\[([A-Z_]+)\]/g)].map((m) => m[1])).toEqual(['CBOR_INVALID']);
    expect(revocations()).toBe(before);
  });
});

describe('publish grant|revoke: flag problems are usage errors', () => {
  const grant = (...rest: string[]) => run('publish', 'grant', '--config', CONFIG, '--out', p('x.grant'), ...rest);
  const cases: [string, string[], RegExp][] = [
    ['a collector that is not a CID', ['--collector', 'zz', '--slot', 'tty-1'], /--collector: expected a CID \(64 lowercase hex characters\), got "zz"/],
    ['a purpose that is not a dotted lowercase name', ['--slot', 'tty-1', '--purpose', 'Bad Purpose'], /--purpose "Bad Purpose": /],
    ['an empty purpose', ['--slot', 'tty-1', '--purpose', ''], /--purpose "": /],
    ['too many purposes', ['--slot', 'tty-1', ...Array.from({ length: 17 }, (_, i) => ['--purpose', `p${i}.x`]).flat()], /--purpose: at most 16/],
    ['a purpose the policy denies', ['--slot', 'tty-1', '--purpose', 'telemetry.store', '--deny', 'telemetry.store'], /--deny telemetry\.store: /],
    ['a purpose the policy does not allow', ['--slot', 'tty-1', '--allow', 'a.b'], /--allow: .*telemetry\.store/],
    ['a denial that is not a purpose name', ['--slot', 'tty-1', '--deny', 'x'.repeat(65)], /--deny "x{20}/],
    ['an attribution too long', ['--slot', 'tty-1', '--attribution', 'a'.repeat(257)], /--attribution: 1\.\.256 characters/],
    ['an empty attribution', ['--slot', 'tty-1', '--attribution', ''], /--attribution: 1\.\.256 characters/],
  ];
  for (const [what, argv, message] of cases) {
    it(`grant: ${what}`, async () => {
      const r = await grant(...(argv.includes('--collector') ? argv : ['--collector', col, ...argv]));
      expect(r.code, r.err).toBe(2);
      expect(r.err).toMatch(message);
      expect(r.err).toMatch(/\[USAGE\]\n$/);
      expect(r.err).not.toMatch(/discovery-grant|DECODE_|DISCOVERY_POLICY/);
      expect(existsSync(p('x.grant'))).toBe(false);
    });
  }

  it('revoke: a collector that is not a CID', async () => {
    const r = await run('publish', 'revoke', '--config', CONFIG, '--collector', 'zz', '--all');
    expect(r.code, r.err).toBe(2);
    expect(r.err).toMatch(/--collector: expected a CID .*\[USAGE\]/);
  });
});
