// A device path inside the root filesystem being flashed, resolved as the device will resolve it.
// The target is a card or image that may come back from the field, and flash runs as root: a
// symlink in it (`etc/systemd` -> `/tmp/x`, `opt` -> `/opt`) followed by the host's kernel pointed
// into the host, so a tampered card made flash install and enable the unit on the admin's own
// machine, write the bundle there and delete a directory of it (a review's repro). Each component
// is looked at here instead: a symlink is read and followed inside the target, an absolute one
// from the target's root and `..` never above it (as systemd's chase() with CHASE_PREFIX_ROOT).

import { lstatSync, readlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { LocalError } from '../lib/errors.js';
import { FileErrorCode } from '../files/errors.js';

/** Symlinks followed for one path before it is refused (Linux's own limit). */
const MAX_LINKS = 40;

/**
 * `devicePath` (absolute on the device) under `target`, with every symlink on the way resolved
 * inside the target. `final: 'keep'` leaves a symlink at the last component as it is (a path that
 * is itself replaced by rename: the enable link); by default it is followed too (a file read, or
 * written through the link, still inside the target).
 */
export function inTarget(target: string, devicePath: string, opts: { readonly final?: 'follow' | 'keep' } = {}): string {
  const root = resolve(target);
  const todo = devicePath.split('/').filter((p) => p !== '' && p !== '.');
  const done: string[] = [];
  let links = 0;
  while (todo.length > 0) {
    const name = todo.shift()!;
    if (name === '..') {
      done.pop(); // never above the target's root
      continue;
    }
    const here = join(root, ...done, name);
    let isLink = false;
    try {
      isLink = lstatSync(here).isSymbolicLink();
    } catch {
      // absent: created where it is named
    }
    if (!isLink || (todo.length === 0 && opts.final === 'keep')) {
      done.push(name);
      continue;
    }
    if (++links > MAX_LINKS) throw new LocalError(FileErrorCode.FILE_INVALID, `${here}: more than ${MAX_LINKS} symbolic links on the way to ${devicePath} in ${root} (a loop?)`);
    const to = readlinkSync(here);
    if (to.startsWith('/')) done.length = 0; // absolute: from the target's root, not the host's
    todo.unshift(...to.split('/').filter((p) => p !== '' && p !== '.'));
  }
  return join(root, ...done);
}
