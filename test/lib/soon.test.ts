import { setImmediate as turn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { soon } from '../../src/lib/soon.js';

describe('soon(): a value made on a later turn, or at first use', () => {
  it('is made once, on a later turn, without being asked', async () => {
    let made = 0;
    const get = soon(() => ++made);
    expect(made).toBe(0); // not on this turn
    await turn();
    expect(made).toBe(1);
    expect(get()).toBe(1);
    expect(get()).toBe(1);
    expect(made).toBe(1);
  });

  it('asked before that turn: made then, and not again on the turn', async () => {
    let made = 0;
    const get = soon(() => ++made);
    expect(get()).toBe(1);
    await turn();
    expect(made).toBe(1);
  });

  it('a failure surfaces where the value is used, every time, never as an uncaught error', async () => {
    let calls = 0;
    const get = soon((): number => {
      calls++;
      throw new Error('no');
    });
    await turn();
    expect(() => get()).toThrow('no');
    expect(calls).toBe(2);
  });
});
