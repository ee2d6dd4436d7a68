// Codes of the gateway configuration beyond CONFIG_INVALID (lib/errors.ts CommonCode).

export const ConfigErrorCode = {
  BOARD_UNKNOWN: 'BOARD_UNKNOWN',
} as const;
export type ConfigErrorCode = (typeof ConfigErrorCode)[keyof typeof ConfigErrorCode];
