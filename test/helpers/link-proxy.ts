// A loopback TCP proxy between one EP and the RN that understands link framing
// (u32be length || type || payload). Tests use it to record every byte the RN relays, and to
// flip, drop or replay RELAY frames — the powers a malicious network or RN has (draft §11).

import { createServer, connect, type Server, type Socket } from 'node:net';

export type Direction = 'to-rn' | 'from-rn';
/** Returns the frames (whole, with their length prefix) to forward in place of `frame`. */
export type FrameHook = (frame: Uint8Array, dir: Direction) => Uint8Array[];

export const RELAY_FRAME = 0x20;
/** Offset of the E2E payload inside a whole RELAY frame: u32 length, u8 type, u32 stitch id. */
export const RELAY_PAYLOAD_OFFSET = 9;

export class LinkProxy {
  readonly recorded: Buffer[] = [];
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  hook: FrameHook = (f) => [f];

  constructor(private readonly target: { host: string; port: number }) {}

  async start(): Promise<string> {
    this.server = createServer((client) => this.pipe(client));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    const a = this.server.address();
    if (a === null || typeof a === 'string') throw new Error('no address');
    return `127.0.0.1:${a.port}`;
  }

  private pipe(client: Socket): void {
    const upstream = connect(this.target);
    this.sockets.add(client).add(upstream);
    const wire = (from: Socket, to: Socket, dir: Direction): void => {
      let buf = Buffer.alloc(0);
      from.on('data', (chunk: Buffer) => {
        this.recorded.push(chunk);
        buf = Buffer.concat([buf, chunk]);
        while (buf.length >= 4) {
          const len = buf.readUInt32BE(0);
          if (buf.length < 4 + len) break;
          const frame = new Uint8Array(buf.subarray(0, 4 + len));
          buf = buf.subarray(4 + len);
          for (const f of this.hook(frame, dir)) to.write(f);
        }
      });
      from.on('close', () => to.destroy());
      from.on('error', () => to.destroy());
    };
    wire(client, upstream, 'to-rn');
    wire(upstream, client, 'from-rn');
  }

  /** Everything seen in both directions so far. */
  bytes(): Buffer {
    return Buffer.concat(this.recorded);
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

export function isRelay(frame: Uint8Array): boolean {
  return frame.length > RELAY_PAYLOAD_OFFSET && frame[4] === RELAY_FRAME;
}

/** First byte of the E2E payload of a RELAY frame (0x10-0x13 = block). */
export function relayPayloadType(frame: Uint8Array): number {
  return frame[RELAY_PAYLOAD_OFFSET]!;
}
