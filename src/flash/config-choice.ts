// Which gateway config a flash installs: the --config given (replacing the installed one), else
// the one already installed (the installer's edits are never clobbered), else a default for the
// board. Whichever it is, it is validated before anything is written, and must name --board.

import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { readFileCapped } from '../files/fsutil.js';
import { utf8Text } from '../files/json.js';
import { checkConfigText, ConfigError, formatIssue, loadBoard } from '../config/index.js';
import type { Board, GatewayConfig } from '../config/types.js';
import { MAX_CONFIG_FILE } from '../config/load.js';
import { defaultConfigText } from './default-config.js';
import { CONFIG_FILE, STATE_DIR } from './layout.js';
import { inTarget } from './target-path.js';
import { CommonCode, LocalError } from '../lib/errors.js';

export type ConfigSource = 'given' | 'kept' | 'default';

interface ConfigChoice {
  readonly source: ConfigSource;
  /** Where the text came from (the --config file, the installed file, or "default"). */
  readonly from: string;
  readonly text: string;
  /** The config as the gateway will read it on the device (paths resolved against /etc/uzp-gateway). */
  readonly config: GatewayConfig;
  readonly board: Board;
  readonly warnings: readonly string[];
}

interface ConfigChoiceInput {
  readonly target: string;
  readonly boardId: string;
  readonly configFile?: string;
  /** Board profiles of the bundle being flashed. */
  readonly boardsDir: string;
}

/** Validates config text as if it were `file`; throws ConfigError (every problem) when invalid. */
export function validateConfigText(text: string, file: string, boardsDir: string): { config: GatewayConfig; board: Board; warnings: string[] } {
  const r = checkConfigText(text, file, { boardsDir, checkFiles: false });
  if (r.config === undefined || r.board === undefined) throw new ConfigError(file, r.issues);
  return { config: r.config, board: r.board, warnings: r.issues.filter((i) => i.severity === 'warning').map(formatIssue) };
}

function readConfig(file: string): string {
  return utf8Text(readFileCapped(file, MAX_CONFIG_FILE, 'gateway config').bytes, file, CommonCode.CONFIG_INVALID);
}

function boardMismatch(file: string, found: string, wanted: string, fix: string): LocalError {
  return new LocalError(CommonCode.CONFIG_INVALID, `${file} is for board ${JSON.stringify(found)}, but --board is ${JSON.stringify(wanted)}; ${fix}`);
}

/** Things that validate but will not work under the generated unit. */
function deploymentWarnings(c: GatewayConfig): string[] {
  const out: string[] = [];
  if (dirname(c.identity.key) !== STATE_DIR) {
    out.push(
      `identity.key ${c.identity.key} is outside ${STATE_DIR}: the service may write only there (ProtectSystem=strict), so first-boot cannot create the key; install it yourself (mode 0600, owner uzp-gateway)`,
    );
  }
  return out;
}

export function chooseConfig(i: ConfigChoiceInput): ConfigChoice {
  // Refuses an unknown board with the closest known id before looking at any config.
  const board = loadBoard(i.boardId, i.boardsDir);
  const installed = inTarget(i.target, CONFIG_FILE);
  let source: ConfigSource;
  let from: string;
  let text: string;
  let warnings: string[] = [];
  if (i.configFile !== undefined) {
    text = readConfig(i.configFile);
    const v = validateConfigText(text, i.configFile, i.boardsDir);
    if (v.config.board !== board.id) throw boardMismatch(i.configFile, v.config.board, board.id, `flash it with --board ${v.config.board}, or give a config for ${board.id}`);
    [source, from, warnings] = ['given', i.configFile, v.warnings];
  } else if (existsSync(installed)) {
    text = readConfig(installed);
    const v = validateConfigText(text, installed, i.boardsDir);
    if (v.config.board !== board.id) {
      throw boardMismatch(installed, v.config.board, board.id, `pass --config FILE to replace the installed config, or flash with --board ${v.config.board}`);
    }
    [source, from, warnings] = ['kept', installed, v.warnings];
  } else {
    text = defaultConfigText(board);
    [source, from] = ['default', 'default'];
  }
  // The view the gateway will have on the device: relative paths resolve against /etc/uzp-gateway,
  // and that is what the config digest in the reference manifest must match.
  const device = validateConfigText(text, CONFIG_FILE, i.boardsDir);
  return { source, from, text, config: device.config, board: device.board, warnings: [...warnings, ...deploymentWarnings(device.config)] };
}
