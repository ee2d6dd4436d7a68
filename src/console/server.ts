// The console's HTTP server (issue #17): the page (assets.ts), a read-only JSON API over a
// ConsoleSource (model.ts) and a Server-Sent Events stream of its changes (sse.ts). GET and HEAD
// only; nothing it serves changes state. Served by the collector and by an operator's `connect`,
// never by a gateway.
//
// Who may read it:
// - On loopback without a token (the default), any local process can: the machine's users are
//   trusted as they are with the collector's database file. A browser page from elsewhere cannot:
//   the Host header must name this loopback address (no DNS rebinding), no CORS header is sent, and
//   the CSP keeps the page to its own origin.
// - With a token (required off loopback, with TLS), every request must carry it: `Authorization:
//   Bearer <token>`, or the cookie that `GET /?token=<token>` sets (HttpOnly, Secure, SameSite=Strict).

import { timingSafeEqual, createHash } from 'node:crypto';
import { createServer as createHttp, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttps } from 'node:https';
import type { AddressInfo } from 'node:net';
import { consoleHosts, isLoopback, type ListenAddress } from './address.js';
import { loadAssets, type Asset } from './assets.js';
import { ConsoleCode, ConsoleError } from './errors.js';
import type { ConsoleSource } from './model.js';
import { SseHub } from './sse.js';

export interface ConsoleServerOptions {
  readonly source: ConsoleSource;
  readonly listen: ListenAddress;
  /** PEM certificate chain and key: serve HTTPS. */
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer };
  /** Every request must carry this token. */
  readonly token?: string;
  /** A request the source failed (logged by the caller; the client gets a 500 without details). */
  readonly onError?: (e: unknown, path: string) => void;
}

const COOKIE = 'uzp_console';
const HEADERS = {
  'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};
const MAX_AUDIT = 1000;
const MAX_POINTS = 20_000;
const DEFAULT_POINTS = 5_000;
/** A slot's history starts this long ago unless `since` says otherwise. */
const DEFAULT_HISTORY_MS = 3600_000;
const CID = /^[0-9a-f]{64}$/;
const SLOT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

function cookieToken(header: string | undefined): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k !== COOKIE) continue;
    try {
      return decodeURIComponent(v.join('='));
    } catch {
      return undefined; // malformed escapes: no token (refused as such), not a server error
    }
  }
  return undefined;
}

/** A whole number from min to max (above max: max); undefined for anything else (a 400). */
function intParam(u: URL, name: string, fallback: number, max: number, min = 0): number | undefined {
  const v = u.searchParams.get(name);
  if (v === null) return fallback;
  if (!/^\d{1,15}$/.test(v) || Number(v) < min) return undefined;
  return Math.min(Number(v), max);
}

export class ConsoleServer {
  readonly hub = new SseHub();
  private readonly assets: Map<string, Asset>;
  private readonly server: Server;
  private readonly tokenDigest: Buffer | undefined;
  private unsubscribe: () => void = () => {};
  private hosts = new Set<string>();
  address = '';

  private constructor(private readonly o: ConsoleServerOptions) {
    this.assets = loadAssets();
    this.tokenDigest = o.token !== undefined ? digest(o.token) : undefined;
    const handler = (req: IncomingMessage, res: ServerResponse): void => {
      for (const [k, v] of Object.entries(HEADERS)) res.setHeader(k, v);
      this.handle(req, res).catch((e: unknown) => {
        o.onError?.(e, req.url ?? '');
        if (!res.headersSent) this.json(res, 500, { error: 'the console could not read its data; see the log' });
        else res.destroy();
      });
    };
    this.server = o.tls !== undefined ? createHttps({ cert: o.tls.cert, key: o.tls.key, minVersion: 'TLSv1.3' }, handler) : createHttp(handler);
    // Slow or idle clients cannot hold sockets for ever (SSE streams send a keepalive every 15 s).
    this.server.headersTimeout = 10_000;
    this.server.requestTimeout = 30_000;
    this.server.keepAliveTimeout = 5_000;
    this.server.maxHeadersCount = 50;
  }

  /** Loads the page, listens, and starts relaying the source's events. */
  static async start(o: ConsoleServerOptions): Promise<ConsoleServer> {
    if (!isLoopback(o.listen.host) && (o.tls === undefined || o.token === undefined)) {
      throw new ConsoleError(ConsoleCode.UI_ADDRESS, `the console serves ${o.listen.host}, which is not loopback, only over TLS with a token: give --ui-tls-cert, --ui-tls-key and --ui-token-file (docs/CONSOLE.md), or use 127.0.0.1 and an SSH tunnel`);
    }
    const s = new ConsoleServer(o);
    await new Promise<void>((resolve, reject) => {
      s.server.once('error', (e: NodeJS.ErrnoException) =>
        reject(new ConsoleError(ConsoleCode.UI_LISTEN, `cannot serve the console on ${o.listen.host}:${o.listen.port} (${e.code ?? e.message}): ${e.code === 'EADDRINUSE' ? 'the port is taken; pick another one (port 0 picks a free one)' : 'check the address'}`, { cause: e })),
      );
      s.server.listen(o.listen.port, o.listen.host, () => resolve());
    });
    const a = s.server.address() as AddressInfo;
    const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
    s.address = `${o.tls !== undefined ? 'https' : 'http'}://${host}:${a.port}/`;
    s.hosts = consoleHosts(a.address, a.port, o.tls !== undefined);
    s.unsubscribe = o.source.subscribe((e) => s.hub.send(e));
    return s;
  }

  async close(): Promise<void> {
    this.unsubscribe();
    this.hub.close();
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }

  private allowed(req: IncomingMessage, u: URL, res: ServerResponse): boolean {
    if (this.tokenDigest === undefined) {
      // Without a token only the loopback origin itself may read (DNS rebinding cannot pass this).
      if (this.hosts.has(req.headers.host ?? '')) return true;
      this.text(res, 421, 'this console answers only requests addressed to its loopback address');
      return false;
    }
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const given = bearer ?? u.searchParams.get('token') ?? cookieToken(req.headers.cookie);
    if (given !== undefined && given !== null && timingSafeEqual(digest(given), this.tokenDigest)) {
      if (u.searchParams.has('token')) {
        // Trade the token in the URL for a cookie and drop it from the address bar (and history).
        res.setHeader('set-cookie', `${COOKIE}=${encodeURIComponent(given)}; HttpOnly; Secure; SameSite=Strict; Path=/`);
        res.writeHead(303, { location: u.pathname });
        res.end();
        return false;
      }
      return true;
    }
    this.text(res, 401, 'this console needs its token: open /?token=<the token in the --ui-token-file> once, or send Authorization: Bearer <token>');
    return false;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return this.text(res, 405, 'the console is read-only: GET and HEAD only');
    }
    let u: URL;
    try {
      u = new URL(req.url ?? '/', 'http://console.invalid');
    } catch {
      return this.text(res, 400, 'bad request line');
    }
    if (!this.allowed(req, u, res)) return;
    const asset = this.assets.get(u.pathname);
    if (asset !== undefined) return this.asset(req, res, asset);
    const parts = u.pathname.split('/').slice(1).map((p) => {
      try {
        return decodeURIComponent(p);
      } catch {
        return '\u0000';
      }
    });
    if (parts[0] !== 'api') return this.text(res, 404, 'no such page; the console starts at /');
    const src = this.o.source;
    switch (parts[1]) {
      case 'info':
        return this.json(res, 200, { role: src.role });
      case 'fleet':
        return this.json(res, 200, await src.fleet());
      case 'gateway': {
        const cid = parts[2] ?? '';
        if (!CID.test(cid) || parts.length !== 3) return this.json(res, 400, { error: 'expected /api/gateway/<64 hex digits>' });
        const g = await src.gateway(cid);
        return g === undefined ? this.json(res, 404, { error: 'no such gateway here' }) : this.json(res, 200, g);
      }
      case 'slot': {
        const [cid, slot] = [parts[2] ?? '', parts[3] ?? ''];
        if (!CID.test(cid) || !SLOT.test(slot) || parts.length !== 4) return this.json(res, 400, { error: 'expected /api/slot/<gateway CID>/<slot id>' });
        const since = intParam(u, 'since', Date.now() - DEFAULT_HISTORY_MS, Number.MAX_SAFE_INTEGER);
        const limit = intParam(u, 'limit', DEFAULT_POINTS, MAX_POINTS, 1);
        if (since === undefined || limit === undefined) return this.json(res, 400, { error: 'since (Unix ms) must be a whole number and limit one from 1' });
        const d = await src.slot(cid, slot, since, limit);
        return d === undefined ? this.json(res, 404, { error: 'no such slot here' }) : this.json(res, 200, d);
      }
      case 'audit': {
        const limit = intParam(u, 'limit', 200, MAX_AUDIT, 1);
        if (limit === undefined) return this.json(res, 400, { error: 'limit must be a whole number from 1' });
        return this.json(res, 200, await src.audit(limit));
      }
      case 'events':
        if (!this.hub.add(res)) return this.text(res, 503, 'too many live views open; close one');
        return;
      default:
        return this.json(res, 404, { error: 'no such API path' });
    }
  }

  private asset(req: IncomingMessage, res: ServerResponse, a: Asset): void {
    if (req.headers['if-none-match'] === a.etag) {
      res.writeHead(304, { etag: a.etag });
      return void res.end();
    }
    res.writeHead(200, { 'content-type': a.type, 'content-length': a.body.length, etag: a.etag, 'cache-control': 'no-cache' });
    res.end(req.method === 'HEAD' ? undefined : a.body);
  }

  private json(res: ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  private text(res: ServerResponse, status: number, body: string): void {
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
    res.end(body + '\n');
  }
}
