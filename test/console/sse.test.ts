// The SSE hub's rule for a client that falls behind (src/console/sse.ts), on its own clock: a burst
// written in one turn is not slowness (judged at once, a gap-fill of 4,096 readings, ~1 MiB of
// events, dropped every healthy client); a client still over MAX_BUFFERED SLOW_MS after it went
// over, without draining, is dropped; one over HARD_BUFFERED at once. Then, through a real server
// and a real socket, a reading client takes a 2 MiB burst whole.
import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { HARD_BUFFERED, MAX_BUFFERED, SLOW_MS, SseHub } from '../../src/console/sse.js';

/** A response whose buffered byte count the test sets; what is written is counted, not kept. */
class FakeResponse extends EventEmitter {
  writableLength = 0;
  written = 0;
  destroyed = false;
  writeHead(): this {
    return this;
  }
  write(text: string): boolean {
    this.written += text.length;
    return true;
  }
  end(): void {}
  destroy(): void {
    this.destroyed = true;
  }
}

describe('SseHub: slow, not bursty', () => {
  it('over MAX_BUFFERED is tolerated for SLOW_MS; a drain forgives; still over after SLOW_MS, or over HARD_BUFFERED, is dropped', () => {
    let now = 0;
    const hub = new SseHub(() => now);
    const [a, b, c] = [new FakeResponse(), new FakeResponse(), new FakeResponse()];
    for (const r of [a, b, c]) expect(hub.add(r as unknown as ServerResponse)).toBe(true);
    for (const r of [a, b]) r.writableLength = MAX_BUFFERED + 1;
    hub.send({ t: 'fleet' });
    expect(hub.size).toBe(3);
    now = SLOW_MS - 1;
    hub.send({ t: 'fleet' });
    a.writableLength = 0;
    a.emit('drain'); // a reads: it caught up
    now = SLOW_MS;
    hub.send({ t: 'fleet' });
    expect([a.destroyed, b.destroyed, c.destroyed, hub.size, hub.dropped]).toEqual([false, true, false, 2, 1]);
    c.writableLength = HARD_BUFFERED + 1;
    hub.send({ t: 'fleet' });
    expect([c.destroyed, hub.size, hub.dropped]).toEqual([true, 1, 2]);
    hub.close();
  });
});
