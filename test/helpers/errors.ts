// Reading typed errors in tests: the code a call failed with, or the error a promise rejected with.

import { expect } from 'vitest';
import { UzpError } from '../../src/uzp/errors.js';

/** The stable code `f` threw, 'no error', or 'untyped …' for anything that is not a UzpError. */
export function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return e instanceof UzpError ? e.code : `untyped ${String(e)}`;
  }
  return 'no error';
}

/** The UzpError `p` rejected with; fails the test if it resolved or rejected with anything else. */
export async function errorOf(p: Promise<unknown>): Promise<UzpError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(UzpError);
    return e as UzpError;
  }
  throw new Error('expected a rejection');
}
