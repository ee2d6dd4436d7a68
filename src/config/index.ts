// Public API of the gateway config area for the composition root, the CLI and the attestation.

export { BOARDS_DIR, boardIds, checkBoardText, listBoards, loadBoard } from './boards.js';
export { boardToJson } from './board-json.js';
export { checkConfigFile, checkConfigText, loadGatewayConfig, MAX_CONFIG_FILE, type CheckOptions, type CheckResult } from './load.js';
export { canonicalConfig, configDigest, configDigestHex, jcs } from './digest.js';
export { ConfigError, formatIssue, IssueLog, type ConfigIssue, type Severity } from './issues.js';
// The validator's cursor, also for files shaped like a config (`uzpgw hil run` scenarios)
export { Node, type Obj } from './node.js';
export { portDevicePath } from './cross-check.js';
export { globMatches } from './glob.js';
export { bitsPerChar, estimateLineLoad } from './line-load.js';
export * from './types.js';
