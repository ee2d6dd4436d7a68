// The example configs in docs/CONFIG.md validate against their boards, with the files they name
// present: the documentation cannot drift from the schema unnoticed.

import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { checkConfigFile, formatIssue, listBoards } from '../../src/config/index.js';
import { ConfigDir } from './fixtures.js';

const doc = readFileSync(new URL('../../docs/CONFIG.md', import.meta.url), 'utf8');
const examples = [...doc.matchAll(/<!-- config-example -->\n```json\n([\s\S]*?)\n```/g)].map((m) => m[1]!);
const dir = new ConfigDir(['keys/gateway.key', 'keys/gateway.pcert', 'trust/trust.json', 'trust/rn-set.uzp', 'trust/revocations.uzp', 'log/.keep', 'secrets/mqtt.pass']);
afterAll(() => dir.remove());

describe('docs/CONFIG.md examples', () => {
  it('there is one example per shipped board', () => {
    const boards = examples.map((e) => (JSON.parse(e) as { board: string }).board).sort();
    expect(boards).toEqual(listBoards().map((b) => b.id).sort());
  });

  examples.forEach((text, i) => {
    const board = (JSON.parse(text) as { board: string }).board;
    it(`example ${i + 1} (${board}) is valid without warnings`, () => {
      const r = checkConfigFile(dir.write(`example-${i}.json`, text));
      expect(r.issues.map(formatIssue)).toEqual([]);
      expect(r.config?.board).toBe(board);
    });
  });
});
