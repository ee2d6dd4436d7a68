// The logging surface the equipment transports need; a pino Logger satisfies it. Narrow so the
// ports are testable with a recording fake and carry no dependency on the CLI's logger set-up.

export interface PortLog {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  /** A fault an installer must act on (a configured device missing or unusable): shown at the default level. */
  error(obj: object, msg: string): void;
}

export const silentPortLog: PortLog = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};

/** A short, loggable description of anything thrown by a library. */
export function describeError(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
