// The logging surface the RN needs; a pino Logger satisfies it. Kept narrow so the RN core is
// testable with a recording fake and carries no dependency on the CLI's logger set-up.

export interface RnLog {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export const silentLog: RnLog = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};
