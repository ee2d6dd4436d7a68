// The status file: where it lives (one rule for gateway and CLI), and the atomic write (temporary
// file in the same directory, fsync, rename, mode 0600) on real files.

import { mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, closeSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileErrorCode } from '../../src/files/errors.js';
import { STATUS_BLOCK_BYTES, statusFileOf, writeStatusFile } from '../../src/gateway/status-file.js';
import { spawnProgram } from '../helpers/processes.js';
import { fileURLToPath } from 'node:url';
import { parseGatewayStatus } from '../../src/gateway/status-read.js';
import { errorOf } from '../helpers/errors.js';
import { sampleStatus } from './status-sample.js';

const dir = mkdtempSync(join(tmpdir(), 'uzp-status-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('statusFileOf', () => {
  it('is status.json next to the identity key (the state directory on a flashed board)', () => {
    expect(statusFileOf({ identity: { key: '/var/lib/uzp-gateway/identity.key' } })).toBe('/var/lib/uzp-gateway/status.json');
    expect(statusFileOf({ identity: { key: '/srv/gw/keys/gw.key' } })).toBe('/srv/gw/keys/status.json');
  });
});

describe('writeStatusFile', () => {
  it('writes the status as JSON, mode 0600, that reads back the same', async () => {
    const file = join(dir, 'a', 'status.json');
    mkdirSync(join(dir, 'a'));
    const s = sampleStatus();
    await writeStatusFile(file, s);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(parseGatewayStatus(readFileSync(file, 'utf8'), file)).toEqual(s);
    expect(readdirSync(join(dir, 'a'))).toEqual(['status.json']); // no temporary file left
  });

  it('replaces the file by rename: a reader that has the old one open keeps reading the old one whole', async () => {
    const file = join(dir, 'b.json');
    const before = sampleStatus({ pid: 1 });
    await writeStatusFile(file, before);
    const fd = openSync(file, 'r');
    try {
      await writeStatusFile(file, sampleStatus({ pid: 2, artefacts: [] }));
      // An in-place rewrite (truncate + write) would show the new bytes, or none, through this fd.
      const buf = Buffer.alloc(1 << 16);
      const n = readSync(fd, buf, 0, buf.length, 0);
      expect(JSON.parse(buf.subarray(0, n).toString('utf8'))).toEqual(before);
    } finally {
      closeSync(fd);
    }
    expect(parseGatewayStatus(readFileSync(file, 'utf8'), file).pid).toBe(2);
  });

  it('with no room for a new file, the existing one is rewritten in place (its blocks are there); whole blocks, so a new status fits', async () => {
    const file = join(dir, 'full', 'status.json');
    mkdirSync(join(dir, 'full'));
    await writeStatusFile(file, sampleStatus({ pid: 1 }));
    expect(statSync(file).size % STATUS_BLOCK_BYTES).toBe(0);
    // A process that may not grow any file past 512 bytes (dash: ulimit -f counts 512-byte blocks)
    // stands in for a full card: the temporary file fails (EFBIG, as ENOSPC would), the rewrite does not.
    const module = fileURLToPath(new URL('../../dist/gateway/status-file.js', import.meta.url));
    const status = JSON.stringify(sampleStatus({ pid: 2 }));
    const script = `import(${JSON.stringify(module)}).then((m) => m.writeStatusFile(${JSON.stringify(file)}, ${status})).then(() => console.log('written'), (e) => console.log('failed', e.code))`;
    const child = spawnProgram('sh', ['-c', `ulimit -f 1 && exec "${process.execPath}" -e "$0"`, script]);
    await child.exited;
    expect(child.stdout().trim()).toBe('written');
    expect(parseGatewayStatus(readFileSync(file, 'utf8'), file).pid).toBe(2);
    expect(readdirSync(join(dir, 'full'))).toEqual(['status.json']);
  });

  it('tightens an existing looser file to 0600', async () => {
    const file = join(dir, 'c.json');
    writeFileSync(file, '{}', { mode: 0o644 });
    await writeStatusFile(file, sampleStatus());
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('fails with a file error naming the file, and leaves no temporary file behind', async () => {
    const missing = join(dir, 'no-such-dir', 'status.json');
    const e1 = await errorOf(writeStatusFile(missing, sampleStatus()));
    expect(e1).toMatchObject({ code: FileErrorCode.FILE_NOT_FOUND });
    expect((e1 as Error).message).toContain(missing);

    // The rename fails (a directory is in the way) after the temporary file was written.
    const d = join(dir, 'd');
    mkdirSync(join(d, 'status.json', 'x'), { recursive: true });
    const e2 = await errorOf(writeStatusFile(join(d, 'status.json'), sampleStatus()));
    expect(e2).toMatchObject({ code: FileErrorCode.FILE_IO });
    expect(readdirSync(d)).toEqual(['status.json']);
  });
});
