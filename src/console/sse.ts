// Live updates to the page as Server-Sent Events (one `data:` line of JSON per event). Bounded:
// at most MAX_CLIENTS streams, and a client that stops reading (its socket buffer over
// MAX_BUFFERED) is dropped rather than queued for without end; EventSource reconnects by itself and
// the page re-fetches what it shows. A comment line every KEEPALIVE_MS keeps proxies from timing
// the stream out and finds dead clients.

import type { ServerResponse } from 'node:http';

export const MAX_CLIENTS = 64;
const MAX_BUFFERED = 1 << 20;
const KEEPALIVE_MS = 15_000;

export class SseHub {
  private readonly clients = new Set<ServerResponse>();
  private readonly keepalive: NodeJS.Timeout;
  dropped = 0;

  constructor() {
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
    res.on('close', () => this.clients.delete(res));
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
    for (const c of this.clients) {
      if (c.writableLength > MAX_BUFFERED) {
        this.dropped++;
        this.clients.delete(c);
        c.destroy();
        continue;
      }
      c.write(text);
    }
  }
}
