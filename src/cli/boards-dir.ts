// A directory of board profiles given on the command line (--boards-dir of `slots check` and
// `gateway`, --dir of `boards`). Checked before anything reads it: the config check would otherwise
// take a missing directory for a problem of the config's "board" field ("gw.json:1: board:
// expected a valid board profile ... repair or reinstall the board file"), naming the wrong file.

import { readdirSync } from 'node:fs';
import { usageError } from './flags.js';

/** `dir` unchanged when it is a directory this user can list; a usage error naming `--flag` otherwise. */
export function boardsDirFlag(flag: string, dir: string | undefined): string | undefined {
  if (dir === undefined) return undefined;
  try {
    readdirSync(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const what = code === 'ENOENT' ? 'no such directory' : code === 'ENOTDIR' ? 'not a directory' : `cannot list it (${code ?? String(e)})`;
    throw usageError(`--${flag} ${dir}: ${what}; give the directory that holds the board profiles (ID.json files), or leave --${flag} out to use the installed ones`);
  }
  return dir;
}
