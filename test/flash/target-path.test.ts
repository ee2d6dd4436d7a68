// Device paths inside the tree being flashed (src/flash/target-path.ts): symlinks are followed as
// the device will follow them, inside the target — an absolute one from the target's root, `..`
// never above it — so nothing a card holds points flash (run as root) at the host's own files.

import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { inTarget } from '../../src/flash/target-path.js';

const base = mkdtempSync(join(tmpdir(), 'uzp-target-path-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));
let n = 0;

/** A target root, and a "host" directory beside it that nothing may reach. */
function tree(): { root: string; host: string } {
  const root = join(base, `root-${++n}`);
  const host = join(base, `host-${n}`);
  mkdirSync(join(root, 'usr/lib'), { recursive: true });
  mkdirSync(host, { recursive: true });
  return { root, host };
}

describe('inTarget', () => {
  it('a plain path is joined under the target; absent components stay as named', () => {
    const { root } = tree();
    expect(inTarget(root, '/etc/uzp-gateway/gateway.json')).toBe(join(root, 'etc/uzp-gateway/gateway.json'));
  });

  it('an absolute symlink is followed from the target root, not the host root', () => {
    const { root, host } = tree();
    mkdirSync(join(root, 'etc'), { recursive: true });
    symlinkSync(host, join(root, 'etc/systemd')); // points at the host directory by its absolute path
    const p = inTarget(root, '/etc/systemd/system/uzp-gateway.service');
    // Before: root/etc/systemd/system/... which the kernel resolves into `host`.
    expect(p).toBe(join(root, host, 'system/uzp-gateway.service'));
    expect(p.startsWith(root + '/')).toBe(true);
  });

  it('a relative symlink is followed inside, and .. never climbs above the target root', () => {
    const { root } = tree();
    symlinkSync('usr/lib', join(root, 'lib')); // merged /usr, as on a real root filesystem
    expect(inTarget(root, '/lib/tmpfiles.d/x.conf')).toBe(join(root, 'usr/lib/tmpfiles.d/x.conf'));
    symlinkSync('../../../../..', join(root, 'up'));
    expect(inTarget(root, '/up/etc/passwd')).toBe(join(root, 'etc/passwd'));
  });

  it('the last component: followed by default (inside the target), kept as it is with final: keep', () => {
    const { root } = tree();
    mkdirSync(join(root, 'etc'), { recursive: true });
    writeFileSync(join(root, 'etc/real.json'), '{}');
    symlinkSync('/etc/real.json', join(root, 'etc/gateway.json'));
    expect(inTarget(root, '/etc/gateway.json')).toBe(join(root, 'etc/real.json'));
    expect(inTarget(root, '/etc/gateway.json', { final: 'keep' })).toBe(join(root, 'etc/gateway.json'));
  });

  it('a loop of links is refused with a clear error', () => {
    const { root } = tree();
    symlinkSync('/opt', join(root, 'opt')); // re-rooted, it names itself
    expect(() => inTarget(root, '/opt/uzp-gateway')).toThrow(expect.objectContaining({ code: 'FILE_INVALID', message: expect.stringMatching(/more than 40 symbolic links/) }));
  });
});
