// Live updates to the page as Server-Sent Events (one `data:` line of JSON per event). Bounded:
// at most MAX_CLIENTS streams, and a client that stops reading is dropped rather than queued for
// without end: one whose buffer stayed over MAX_BUFFERED for SLOW_MS without draining, or went over
// HARD_BUFFERED. A burst (a gap-fill of 4,096 readings is ~1 MiB of events written in one turn) is
// not slowness: judged at once, it dropped every healthy client. EventSource reconnects by itself
// and the page fetches what it shows again. A comment line every KEEPALIVE_MS keeps proxies from
// timing the stream out and finds dead clients.

import type { ServerResponse } from 'node:http';

export const MAX_CLIENTS = 64;
export const MAX_BUFFERED = 1 << 20;
export const HARD_BUFFERED = 8 << 20;
export const SLOW_MS = 5_000;
const KEEPALIVE_MS = 15_000;

export class SseHub {
  private readonly clients = new Set<ServerResponse>();
  /** When each client went over MAX_BUFFERED, until it drains. */
  private readonly over = new Map<ServerResponse, number>();
  private readonly keepalive: NodeJS.Timeout;
  dropped = 0;

  constructor(private readonly now: () => number = Date.now) {
    this.keepalive = setInterval(() => this.write(': keepalive\n\n'), KEEPALIVE_MS);
    this.keepalive.unref();
  }

  get size(): number {
    return this.clients.size;
  }

  /** Takes a request's response as a stream; false (and nothing written) when the hub is full. */
  add(res: ServerResponse): boolean {
    if (this.clients.size >= MAX_CLIENTS) return false;
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
    // Tell EventSource how soon to come back after a drop.
    res.write('retry: 1000\n: open\n\n');
    this.clients.add(res);
    res.on('close', () => (this.clients.delete(res), this.over.delete(res)));
    res.on('drain', () => this.over.delete(res));
    return true;
  }

  send(event: unknown): void {
    this.write(`data: ${JSON.stringify(event)}\n\n`);
  }

  close(): void {
    clearInterval(this.keepalive);
    for (const c of this.clients) c.end();
    this.clients.clear();
  }

  private write(text: string): void {
    const now = this.now();
    for (const c of this.clients) {
      const buffered = c.writableLength;
      const since = this.over.get(c);
      if (buffered > HARD_BUFFERED || (since !== undefined && now - since >= SLOW_MS)) {
        this.dropped++;
        this.clients.delete(c);
        this.over.delete(c);
        c.destroy();
        continue;
      }
      if (buffered > MAX_BUFFERED && since === undefined) this.over.set(c, now);
      c.write(text);
    }
  }
}
