// The --log-level flag of the long-running commands (rn, gateway, demo gateway): pino's levels.

export const LOG_LEVEL_FLAG = {
  'log-level': { type: 'string', placeholder: 'LEVEL', choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], default: 'info', describe: 'log level' },
} as const;
