// A directory of board profiles given on the command line (--boards-dir of `slots check` and
// `gateway`, --dir of `boards`). Checked before anything reads it: the config check would otherwise
// take a missing directory for a problem of the config's "board" field ("gw.json:1: board:
// expected a valid board profile ... repair or reinstall the board file"), naming the wrong file.
// Also a board id given on the command line (`flash --board`, `boards show ID`).

import { readdirSync } from 'node:fs';
import { boardIds } from '../config/boards.js';
import { didYouMean } from '../config/suggest.js';
import { usageError } from './flags.js';
import { FileErrorCode } from '../files/errors.js';
import { LocalError } from '../lib/errors.js';

/**
 * `dir` unchanged when it is a directory this user can list; otherwise an error naming `--flag`
 * and the directory, exit 1 as any missing or unreadable file named on the command line is (README
 * "Exit status": the command line is well-formed, the file system does not hold what it names).
 */
export function boardsDirFlag(flag: string, dir: string | undefined): string | undefined {
  if (dir === undefined) return undefined;
  try {
    readdirSync(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const [fileCode, what] =
      code === 'ENOENT'
        ? [FileErrorCode.FILE_NOT_FOUND, 'no such directory']
        : code === 'ENOTDIR'
          ? [FileErrorCode.FILE_INVALID, 'not a directory']
          : [FileErrorCode.FILE_IO, `cannot list it (${code ?? String(e)})`];
    throw new LocalError(fileCode, `--${flag} ${dir}: ${what}; give the directory that holds the board profiles (ID.json files), or leave --${flag} out to use the installed ones`, { cause: e });
  }
  return dir;
}

/**
 * `id` when `dir` holds that board profile. Otherwise a usage error (exit 2) with the closest ids,
 * the same for every command that takes a board id: the profiles are the installed ones (or --dir),
 * so no other file could make the command accept it. `what` starts the message, e.g. "--board: ".
 */
export function knownBoardId(id: string, dir: string, what = ''): string {
  const ids = boardIds(dir);
  if (ids.includes(id)) return id;
  const hint = didYouMean(id, ids);
  throw usageError(`${what}unknown board ${JSON.stringify(id.slice(0, 64))}; ${hint !== '' ? hint + ' ' : ''}known boards: ${ids.join(', ')} (\`uzpgw boards\` lists them)`);
}
