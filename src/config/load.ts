// Loading the gateway config: read (capped), parse strictly, validate the schema, load the board,
// cross-check slots against it, check the referenced files exist. `checkConfig*` return every
// issue (for `uzpgw slots check`); `loadGatewayConfig` returns the typed config or throws one
// ConfigError listing every error.

import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { readFileCapped } from '../files/fsutil.js';
import { utf8Text } from '../files/json.js';
import { BoardNotAFile, BOARDS_DIR, boardIds, loadBoard } from './boards.js';
import { crossCheck } from './cross-check.js';
import { parseConfig, type FileRef } from './gateway-schema.js';
import { ConfigError, IssueLog, type ConfigIssue } from './issues.js';
import { readJson } from '../lib/strict-json.js';
import { Node } from './node.js';
import { didYouMean } from './suggest.js';
import type { Board, GatewayConfig } from './types.js';
import { ConfigErrorCode } from './errors.js';
import { CommonCode, isCodedError } from '../lib/errors.js';

export const MAX_CONFIG_FILE = 1024 * 1024;

export interface CheckOptions {
  /** Where board profiles live (default: the package's boards/). */
  readonly boardsDir?: string;
  /** Check that referenced files exist (default true). */
  readonly checkFiles?: boolean;
}

export interface CheckResult {
  readonly file: string;
  /** Present only when there are no errors (warnings allowed). */
  readonly config?: GatewayConfig;
  readonly board?: Board;
  readonly issues: readonly ConfigIssue[];
}

function checkFileRef(log: IssueLog, r: FileRef): void {
  const target = r.mode === 'dir' ? dirname(r.file) : r.file;
  let found: string;
  try {
    const st = statSync(target);
    if (r.mode === 'dir' ? st.isDirectory() : st.isFile()) return;
    found = r.mode === 'dir' ? 'something that is not a directory' : 'something that is not a regular file';
  } catch (e) {
    found = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : `an unreadable path (${(e as NodeJS.ErrnoException).code ?? 'error'})`;
  }
  log.cross(r.path, { expected: `an existing ${r.mode === 'dir' ? `directory for the ${r.what}` : r.what} at ${target}`, found, fix: r.fix });
}

/** Validates config text as if read from `file` (relative paths resolve against its directory). */
export function checkConfigText(text: string, file: string, opts: CheckOptions = {}): CheckResult {
  const abs = resolve(file);
  const src = readJson(text);
  const log = new IssueLog(file, (p) => src.lines.get(p));
  for (const i of src.issues) log.add(i.path, i);
  const parsed = parseConfig(Node.root(log, src.value), log, abs);
  let board: Board | undefined;
  if (parsed.board !== '') {
    try {
      board = loadBoard(parsed.board, opts.boardsDir ?? BOARDS_DIR);
    } catch (e) {
      if (!isCodedError(e)) throw e;
      if (e instanceof BoardNotAFile) {
        log.cross('board', { expected: `a board profile file at ${e.file}`, found: e.found, fix: BoardNotAFile.FIX });
      } else if (e.code === ConfigErrorCode.BOARD_UNKNOWN) {
        const ids = boardIds(opts.boardsDir ?? BOARDS_DIR);
        log.cross('board', { expected: `a known board (${ids.join('|')})`, found: JSON.stringify(parsed.board), fix: didYouMean(parsed.board, ids) || 'run `uzpgw boards` to list them' });
      } else {
        log.cross('board', { expected: 'a valid board profile', found: e.message.split('\n')[0] ?? e.message, fix: 'repair or reinstall the board file' });
      }
    }
  }
  const slots = board !== undefined ? crossCheck(parsed, board, log) : [];
  if (opts.checkFiles ?? true) parsed.fileRefs.forEach((r) => checkFileRef(log, r));
  if (log.errorCount > 0 || board === undefined) return { file, ...(board !== undefined ? { board } : {}), issues: log.issues };
  const { fileRefs: _refs, slots: _parsedSlots, ...rest } = parsed;
  return { file, config: { ...rest, slots }, board, issues: log.issues };
}

/** Reads and validates a config file; never throws for content problems (only for an unreadable file). */
export function checkConfigFile(file: string, opts: CheckOptions = {}): CheckResult {
  const text = utf8Text(readFileCapped(file, MAX_CONFIG_FILE, 'gateway config').bytes, file, CommonCode.CONFIG_INVALID);
  return checkConfigText(text, file, opts);
}

/** The typed, validated config for the composition root; throws ConfigError listing every error. */
export function loadGatewayConfig(file: string, opts: CheckOptions = {}): GatewayConfig {
  const r = checkConfigFile(file, opts);
  if (r.config === undefined) throw new ConfigError(file, r.issues);
  return r.config;
}
