// The board registry: boards/<id>.json shipped with the package, validated on every load.
// Board ids are checked against a strict pattern before they become file names, so an id can
// never name a file outside the boards directory.

import { readdirSync, statSync, type Stats } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readFileCapped } from '../files/fsutil.js';
import { utf8Text } from '../files/json.js';
import { BOARD_ID, parseBoard } from './board-schema.js';
import { ConfigError, IssueLog, type ConfigIssue } from './issues.js';
import { readJson } from '../lib/strict-json.js';
import { Node } from './node.js';
import { didYouMean } from './suggest.js';
import type { Board } from './types.js';
import { FileErrorCode } from '../files/errors.js';
import { ConfigErrorCode } from './errors.js';
import { CommonCode, LocalError } from '../lib/errors.js';

/** `boards/` of the package: two levels up from src/config/ (and from dist/config/). */
export const BOARDS_DIR = fileURLToPath(new URL('../../boards/', import.meta.url));
const MAX_BOARD_FILE = 256 * 1024;

/** Validates a board file's text; `board` is set only when there are no errors. */
export function checkBoardText(text: string, file: string): { board?: Board; issues: readonly ConfigIssue[] } {
  const src = readJson(text);
  const log = new IssueLog(file, (p) => src.lines.get(p));
  for (const i of src.issues) log.add(i.path, i);
  const b = parseBoard(Node.root(log, src.value), basename(file, '.json'));
  return log.errorCount === 0 ? { board: { file, ...b }, issues: log.issues } : { issues: log.issues };
}

/** The ids of the board files in `dir`, sorted. */
export function boardIds(dir = BOARDS_DIR): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    throw new LocalError(FileErrorCode.FILE_NOT_FOUND, `${dir}: cannot list board profiles (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  return names
    .filter((n) => n.endsWith('.json'))
    .map((n) => n.slice(0, -'.json'.length))
    .filter((id) => BOARD_ID.test(id))
    .sort();
}

/**
 * The file of a board id is there but is not a regular file (a directory named virtual.json, say).
 * Not BOARD_UNKNOWN: boardIds lists every *.json name, so "unknown board, known boards: virtual"
 * would contradict itself.
 */
export class BoardNotAFile extends LocalError<typeof ConfigErrorCode.BOARD_NOT_A_FILE> {
  static readonly FIX = 'remove or rename it and put the board profile (a JSON file) there, or reinstall the package for a shipped board';
  constructor(
    readonly file: string,
    /** What is there instead: 'a directory' or 'something that is not a regular file'. */
    readonly found: string,
  ) {
    super(ConfigErrorCode.BOARD_NOT_A_FILE, `${file}: expected a board profile file, got ${found}; ${BoardNotAFile.FIX}`);
  }
}

/** Validated boards by file, reused while the file's size and mtime are unchanged. */
const cache = new Map<string, { readonly mtimeMs: number; readonly size: number; readonly board: Board }>();

/** Loads and validates one board; unknown ids are refused with the closest known id. */
export function loadBoard(id: string, dir = BOARDS_DIR): Board {
  const file = join(dir, `${id}.json`);
  let st: Stats | undefined;
  try {
    if (BOARD_ID.test(id)) st = statSync(file);
  } catch {
    st = undefined;
  }
  if (st !== undefined && !st.isFile()) throw new BoardNotAFile(file, st.isDirectory() ? 'a directory' : 'something that is not a regular file');
  if (st === undefined) {
    const ids = boardIds(dir);
    const hint = didYouMean(id, ids);
    throw new LocalError(ConfigErrorCode.BOARD_UNKNOWN, `unknown board ${JSON.stringify(id.slice(0, 64))}; ${hint ? hint + ' ' : ''}known boards: ${ids.join(', ')} (\`uzpgw boards\` lists them)`);
  }
  const hit = cache.get(file);
  if (hit !== undefined && hit.mtimeMs === st.mtimeMs && hit.size === st.size) return hit.board;
  const text = utf8Text(readFileCapped(file, MAX_BOARD_FILE, 'board profile').bytes, file, CommonCode.CONFIG_INVALID);
  const r = checkBoardText(text, file);
  if (r.board === undefined) throw new ConfigError(file, r.issues);
  cache.set(file, { mtimeMs: st.mtimeMs, size: st.size, board: r.board });
  return r.board;
}

/** Every board in `dir`, validated (the first invalid file throws ConfigError). */
export function listBoards(dir = BOARDS_DIR): Board[] {
  return boardIds(dir).map((id) => loadBoard(id, dir));
}
