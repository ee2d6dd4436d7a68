// Public API of the gateway config area for the composition root, the CLI and the attestation.

export { BOARDS_DIR, boardIds, checkBoardText, listBoards, loadBoard } from './boards.js';
export { boardToJson } from './board-json.js';
export { checkConfigFile, checkConfigText, loadGatewayConfig, type CheckOptions, type CheckResult } from './load.js';
export { canonicalConfig, configDigest, configDigestHex, jcs } from './digest.js';
export { ConfigError, formatIssue, type ConfigIssue, type Severity } from './issues.js';
export { globToRegExp, portDevicePath } from './cross-check.js';
export { bitsPerChar, estimateLineLoad } from './line-load.js';
export * from './types.js';
