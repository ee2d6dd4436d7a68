// Codes of the gateway configuration beyond CONFIG_INVALID (lib/errors.ts CommonCode).

export const ConfigErrorCode = {
  BOARD_UNKNOWN: 'BOARD_UNKNOWN',
  /** boards/<id>.json is there but is a directory (or another non-file): listed, yet unreadable. */
  BOARD_NOT_A_FILE: 'BOARD_NOT_A_FILE',
} as const;
export type ConfigErrorCode = (typeof ConfigErrorCode)[keyof typeof ConfigErrorCode];
