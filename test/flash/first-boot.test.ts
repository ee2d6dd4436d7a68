// `uzpgw first-boot`: creates the identity (0600) and a verifiable enrollment request before any
// PCert or trust file exists; a second run leaves everything untouched.

import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadEnrollRequest } from '../../src/files/enroll-request.js';
import { loadKeyFile } from '../../src/files/keyfile.js';
import { toHex } from '../../src/uzp/bytes.js';
import { nodeProvider as provider } from '../../src/uzp/crypto/node.js';
import { jsonOf, runInProcess } from './run.js';

const tmp = mkdtempSync(join(tmpdir(), 'uzp-first-boot-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A config whose key lives in `state/` (created by first-boot) and whose PCert/trust files do not exist. */
function writeConfig(dir: string, extra: Record<string, unknown> = {}): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'gateway.json');
  writeFileSync(
    file,
    JSON.stringify({
      kind: 'uzp-gw/gateway-config',
      ...extra,
      identity: { key: 'state/identity.key', pcert: 'state/identity.pcert' },
      trust: { anchor: 'trust/trust.json', rn_set: 'trust/rn-set.uzp' },
      board: 'rpi-4b',
      slots: { uart0: { device: { id: 'serial-1', driver: 'serial-raw', serial: { baud: 9600 } } } },
    }),
  );
  return file;
}

interface FirstBootJson {
  created: boolean;
  key: string;
  cid?: string;
  request?: string;
  name?: string;
  pcert: string;
}

describe('uzpgw first-boot', () => {
  const dir = join(tmp, 'gw');
  const config = writeConfig(dir);
  const key = join(dir, 'state/identity.key');
  const request = join(dir, 'state/enroll-request.json');

  it('creates a 0600 identity key and an enrollment request that verifies (name = hostname)', async () => {
    const r = await runInProcess('first-boot', '--config', config, '--json');
    expect(r.code, r.err).toBe(0);
    const j = jsonOf(r) as unknown as FirstBootJson;
    expect(j).toMatchObject({ created: true, key, request, pcert: join(dir, 'state/identity.pcert') });
    expect(lstatSync(key).mode & 0o777).toBe(0o600);
    const id = loadKeyFile(provider, key);
    expect(j.cid).toBe(toHex(id.cid));
    const req = loadEnrollRequest(provider, request); // parses and checks the proof of possession
    expect(toHex(req.cid)).toBe(toHex(id.cid));
    expect(toHex(req.publicKey)).toBe(toHex(id.publicKey));
    expect(req.role).toBe('gateway');
    expect(req.name).toBe(hostname().trim() || 'uzp-gateway');
  });

  it('a second run leaves the key and the request untouched', async () => {
    const keyBefore = readFileSync(key);
    const reqBefore = readFileSync(request);
    const mtime = lstatSync(key).mtimeMs;
    const r = await runInProcess('first-boot', '--config', config, '--json');
    expect(r.code, r.err).toBe(0);
    expect((jsonOf(r) as unknown as FirstBootJson).created).toBe(false);
    expect(readFileSync(key).equals(keyBefore)).toBe(true);
    expect(readFileSync(request).equals(reqBefore)).toBe(true);
    expect(lstatSync(key).mtimeMs).toBe(mtime);
    const human = await runInProcess('first-boot', '--config', config);
    expect(human.code).toBe(0);
    expect(human.out).toMatch(/exists; nothing to do/);
  });

  it('names the request after the config name and says what to do next', async () => {
    const named = writeConfig(join(tmp, 'named'), { name: 'press-line-4' });
    const r = await runInProcess('first-boot', '--config', named);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/uzpgw pantheon enroll .*--request .*--role gateway/);
    expect(r.out).toContain(join(tmp, 'named/state/identity.pcert'));
    expect(loadEnrollRequest(provider, join(tmp, 'named/state/enroll-request.json')).name).toBe('press-line-4');
  });

  it('a key directory another user could write is refused before anything is written: no request for a key that never was', async () => {
    const d = join(tmp, 'gw-unsafe');
    const cfg = writeConfig(d);
    chmodSync(d, 0o777); // the directory above state/: whoever writes it can swap state/ for their own
    const r = await runInProcess('first-boot', '--config', cfg);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/KEY_FILE_PERMISSIONS/);
    expect(readdirSync(join(d, 'state'))).toEqual([]);
    chmodSync(d, 0o755);
    expect((await runInProcess('first-boot', '--config', cfg)).code).toBe(0);
    expect(readdirSync(join(d, 'state')).sort()).toEqual(['enroll-request.json', 'identity.key']);
  });

  it('refuses bad input with a clear message, never a crash', async () => {
    expect((await runInProcess('first-boot')).code).toBe(2);
    expect((await runInProcess('first-boot', '--config', config, 'extra')).code).toBe(2);
    const missing = await runInProcess('first-boot', '--config', join(tmp, 'nope.json'));
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/FILE_NOT_FOUND/);
    const junk = join(tmp, 'junk.json');
    writeFileSync(junk, '{"kind":');
    const bad = await runInProcess('first-boot', '--config', junk);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/CONFIG_INVALID/);
    expect(bad.err).not.toMatch(/unexpected error/);
    const help = await runInProcess('first-boot', '--help');
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/^usage: uzpgw first-boot --config FILE/);
  });
});
