// Reading typed errors in tests: the code a call failed with, or the error a promise rejected with.

import { expect } from 'vitest';
import { CodedError } from '../../src/lib/errors.js';

/** The stable code `f` threw, 'no error', or 'untyped …' for anything that is not a CodedError. */
export function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return e instanceof CodedError ? e.code : `untyped ${String(e)}`;
  }
  return 'no error';
}

/** The CodedError `p` rejected with; fails the test if it resolved or rejected with anything else. */
export async function errorOf(p: Promise<unknown>): Promise<CodedError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(CodedError);
    return e as CodedError;
  }
  throw new Error('expected a rejection');
}
