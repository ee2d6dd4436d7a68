// The base of every typed error in the project: a stable `code` that tests, logs and docs can
// name, and a `fault` saying who is to blame, grouped as rustls groups its errors. Each layer
// declares its own codes next to its code (uzp/errors.ts keeps the protocol's, ports/errors.ts
// the equipment transports', …); this file keeps only the base and the few codes every layer
// needs: malformed input, bad arguments or options, full bounded queues, aborted operations.
// A peer never learns *why* it was refused: wire refusals carry a generic code, the full error
// stays local (logs, CLI output, tests).

/** Who is at fault: the remote side sent something bad, we are incompatible, policy refused, or a local bug/misuse. */
export type Fault = 'peer' | 'incompatible' | 'policy' | 'local';

/** Codes shared by every layer. */
export const CommonCode = {
  // malformed bytes from the wire, a device or a file (fault: peer)
  DECODE_TRUNCATED: 'DECODE_TRUNCATED',
  DECODE_TRAILING: 'DECODE_TRAILING',
  DECODE_LENGTH: 'DECODE_LENGTH',
  DECODE_VALUE: 'DECODE_VALUE',
  DECODE_TYPE: 'DECODE_TYPE',
  // local misuse (fault: local)
  USAGE: 'USAGE',
  CONFIG_INVALID: 'CONFIG_INVALID',
  BUFFER_FULL: 'BUFFER_FULL',
  ABORTED: 'ABORTED',
} as const;
export type CommonCode = (typeof CommonCode)[keyof typeof CommonCode];

export class CodedError<C extends string = string> extends Error {
  readonly code: C;
  readonly fault: Fault;
  constructor(code: C, fault: Fault, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.fault = fault;
    this.name = new.target.name;
  }
}

export function isCodedError(e: unknown): e is CodedError {
  return e instanceof CodedError;
}

/** Local configuration, key-file or CLI usage problem; the message says how to fix it. */
export class LocalError<C extends string = string> extends CodedError<C> {
  constructor(code: C, message: string, options?: { cause?: unknown }) {
    super(code, 'local', message, options);
  }
}

/** Malformed bytes from the wire, a device or a file: always the peer's (or the file author's) fault. */
export class DecodeError<C extends string = string> extends CodedError<C> {
  constructor(code: C, message: string, options?: { cause?: unknown }) {
    super(code, 'peer', message, options);
  }
}

/** Local misuse: illegal state transition, closed session or port, full buffer. */
export class StateError<C extends string = string> extends CodedError<C> {
  constructor(code: C, message: string, options?: { cause?: unknown }) {
    super(code, 'local', message, options);
  }
}

/**
 * Runs `f`; a typed error it throws is thrown again with `what` (the flag and file a user gave) in
 * front of its message, same code and fault: "expected an rn-set artefact, got pcert" names no file
 * when a command reads several. A message that starts with the file already (a read error: "FILE:
 * not a regular file …") gets only the flag, so the file is not said twice.
 */
export function naming<T>(what: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (!isCodedError(e) || e.message.startsWith(what)) throw e;
    const colon = e.message.indexOf(': ');
    const head = colon > 0 ? e.message.slice(0, colon) : undefined;
    const text = head !== undefined && what.endsWith(` ${head}`) ? `${what.slice(0, -head.length - 1)} ${e.message}` : `${what}: ${e.message}`;
    const named = new CodedError(e.code, e.fault, text, { cause: e });
    Object.setPrototypeOf(named, Object.getPrototypeOf(e));
    named.name = e.name;
    throw named;
  }
}
