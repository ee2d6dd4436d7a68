// The logging surface the equipment transports need; a pino Logger satisfies it. Narrow so the
// ports are testable with a recording fake and carry no dependency on the CLI's logger set-up.

export interface PortLog {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export const silentPortLog: PortLog = {
  debug() {},
  info() {},
  warn() {},
};

/** A short, loggable description of anything thrown by a library. */
export function describeError(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
