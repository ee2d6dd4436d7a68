// files/json.ts parses every JSON file kind through the one strict reader (lib/strict-json.ts):
// on duplicate-free JSON it gives what JSON.parse gives; any duplicated key is refused with the
// caller's code, naming the file, the key and the line.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { readFileCapped } from '../../src/files/fsutil.js';
import { describe, expect, it } from 'vitest';
import { FileErrorCode } from '../../src/files/errors.js';
import { parseJsonObject, parseJsonText } from '../../src/files/json.js';
import { CodedError } from '../../src/lib/errors.js';

const code = FileErrorCode.FILE_INVALID;

describe('parseJsonText', () => {
  it('agrees with JSON.parse on duplicate-free JSON (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.boolean(), (v, pretty) => {
        const text = JSON.stringify(v, null, pretty ? 2 : undefined);
        expect(parseJsonText(text, 'f.json', code)).toStrictEqual(JSON.parse(text));
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses an object with any key repeated, where JSON.parse would keep the last (property)', () => {
    const object = fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 2 }), { minKeys: 1, maxKeys: 6 });
    fc.assert(
      fc.property(object, fc.nat(), fc.jsonValue({ maxDepth: 2 }), (o, pick, again) => {
        const keys = Object.keys(o);
        const key = keys[pick % keys.length]!;
        const text = JSON.stringify(o).slice(0, -1) + `,\n${JSON.stringify(key)}: ${JSON.stringify(again)}}`;
        expect(() => JSON.parse(text)).not.toThrow();
        try {
          parseJsonText(text, 'f.json', code);
          expect.unreachable('a duplicated key was accepted');
        } catch (e) {
          expect(e).toBeInstanceOf(CodedError);
          expect((e as CodedError).code).toBe(code);
          expect((e as Error).message).toContain(`f.json:2: `);
          expect((e as Error).message).toContain(`${JSON.stringify(key.slice(0, 64))} again (first at line 1)`);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('reports syntax errors with the caller\'s code, the file, line and column', () => {
    try {
      parseJsonText('{\n  "a": 1,\n}', 'k.key', FileErrorCode.KEY_FILE_INVALID);
      expect.unreachable();
    } catch (e) {
      expect((e as CodedError).code).toBe(FileErrorCode.KEY_FILE_INVALID);
      expect((e as Error).message).toMatch(/^k\.key: not valid JSON \(expected "\\"" at line 3 column 1/);
    }
  });

  it('parseJsonObject refuses a duplicated "kind" even when both copies agree', () => {
    try {
      parseJsonObject('{"kind": "k", "kind": "k"}', 's.json', 'k', ['kind'], code);
      expect.unreachable();
    } catch (e) {
      expect((e as CodedError).code).toBe(code);
      expect((e as Error).message).toContain('s.json:1: kind: expected each key once per object');
    }
  });

  it('a named pipe given as a file is refused at once as not a regular file (it hung: open() waited for a writer)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'uzp-fifo-'));
    try {
      const fifo = join(dir, 'config.json');
      execFileSync('mkfifo', [fifo]);
      expect(() => readFileCapped(fifo, 1024, 'gateway config')).toThrow(/not a regular file/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
