// A minimal NATS client for tests, on the text protocol (docs.nats.io "Client Protocol"): CONNECT
// with headers and no-responders on, SUB, PUB with an optional reply subject, PING/PONG as a
// flush, and MSG / HMSG delivery. Enough to check what the rendezvous fabric will rely on (issue
// #16): interest routed across a cluster, and a request to a subject nobody subscribes to answered
// at once with a 503 "no responders" status. Not the product's client.

import { connect, type Socket } from 'node:net';

export interface NatsMsg {
  readonly subject: string;
  readonly reply?: string;
  /** The status line of a header block, e.g. "NATS/1.0 503" (HMSG only). */
  readonly status?: string;
  readonly data: Buffer;
}

export class NatsWire {
  readonly messages: NatsMsg[] = [];
  private buf = Buffer.alloc(0);
  private pongs: (() => void)[] = [];
  private waiters: { match: (m: NatsMsg) => boolean; resolve: (m: NatsMsg) => void }[] = [];
  private sid = 0;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (c: Buffer) => this.onData(c));
    socket.on('error', () => {});
  }

  /** Connects to nats://127.0.0.1:PORT and completes the handshake (INFO, CONNECT, PING/PONG). */
  static async open(url: string): Promise<NatsWire> {
    const port = Number(new URL(url).port);
    const socket = connect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const w = new NatsWire(socket);
    socket.write(`CONNECT ${JSON.stringify({ verbose: false, pedantic: false, headers: true, no_responders: true, protocol: 1 })}\r\n`);
    await w.flush();
    return w;
  }

  /** Round trip to the server: everything sent before has been processed. */
  flush(): Promise<void> {
    return new Promise((resolve) => {
      this.pongs.push(resolve);
      this.socket.write('PING\r\n');
    });
  }

  sub(subject: string): number {
    const sid = ++this.sid;
    this.socket.write(`SUB ${subject} ${sid}\r\n`);
    return sid;
  }

  pub(subject: string, data: Buffer | string, reply?: string): void {
    const b = Buffer.from(data);
    this.socket.write(`PUB ${subject}${reply !== undefined ? ` ${reply}` : ''} ${b.length}\r\n`);
    this.socket.write(Buffer.concat([b, Buffer.from('\r\n')]));
  }

  /** Resolves with the first message (already received or to come) that `match` accepts. */
  next(match: (m: NatsMsg) => boolean, timeoutMs = 5000): Promise<NatsMsg> {
    const seen = this.messages.find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const w = { match, resolve: (m: NatsMsg) => (clearTimeout(timer), resolve(m)) };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(new Error(`no matching NATS message within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  /** Drops the TCP connection without a goodbye (a crashed client). */
  destroy(): void {
    this.socket.destroy();
  }

  private deliver(m: NatsMsg): void {
    this.messages.push(m);
    for (const w of [...this.waiters]) {
      if (!w.match(m)) continue;
      this.waiters = this.waiters.filter((x) => x !== w);
      w.resolve(m);
    }
  }

  private onData(c: Buffer): void {
    this.buf = Buffer.concat([this.buf, c]);
    for (;;) {
      const eol = this.buf.indexOf('\r\n');
      if (eol < 0) return;
      const line = this.buf.subarray(0, eol).toString('latin1');
      const [op, ...f] = line.split(' ');
      if (op === 'MSG' || op === 'HMSG') {
        // MSG subject sid [reply] size | HMSG subject sid [reply] hdr_size total_size
        const sizes = op === 'MSG' ? 1 : 2;
        const total = Number(f[f.length - 1]);
        const hdr = op === 'HMSG' ? Number(f[f.length - 2]) : 0;
        const reply = f.length === 2 + sizes + 1 ? f[2] : undefined;
        if (this.buf.length < eol + 2 + total + 2) return; // the payload is not all here yet
        const body = this.buf.subarray(eol + 2, eol + 2 + total);
        const status = hdr > 0 ? body.subarray(0, hdr).toString('latin1').split('\r\n')[0] : undefined;
        this.buf = this.buf.subarray(eol + 2 + total + 2);
        this.deliver({ subject: f[0]!, ...(reply !== undefined ? { reply } : {}), ...(status !== undefined ? { status } : {}), data: Buffer.from(body.subarray(hdr)) });
        continue;
      }
      this.buf = this.buf.subarray(eol + 2);
      if (op === 'PING') this.socket.write('PONG\r\n');
      else if (op === 'PONG') this.pongs.shift()?.();
    }
  }
}
