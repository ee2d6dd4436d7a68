import { describe, expect, it } from 'vitest';
import { OneAtATime } from '../../src/lib/one-at-a-time.js';

describe('OneAtATime', () => {
  it('runs tasks in call order, each after the previous settled, and a rejection does not block the next', async () => {
    const q = new OneAtATime();
    const events: string[] = [];
    const task = (name: string, ms: number, fail = false) => async (): Promise<string> => {
      events.push(`start ${name}`);
      await new Promise((r) => setTimeout(r, ms));
      events.push(`end ${name}`);
      if (fail) throw new Error(name);
      return name;
    };
    const a = q.run(task('a', 20));
    const b = q.run(task('b', 5, true));
    const c = q.run(task('c', 1));
    await expect(a).resolves.toBe('a');
    await expect(b).rejects.toThrow('b');
    await expect(c).resolves.toBe('c');
    expect(events).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
  });
});
