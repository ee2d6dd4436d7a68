// A local Modbus TCP endpoint (Modbus Messaging on TCP/IP Implementation Guide V1.0b §3.1) that
// forwards every request PDU to a remote slot through the HIL session. The MBAP framing is the
// master's own (ports/modbus/mbap.ts), so both ends of the product share one codec. It listens on
// loopback only: it exists so that any standard Modbus TCP client (SCADA, a PLC tool) on the
// operator's workstation can reach the slot; it must never become a network service.

import { createServer, type Server, type Socket } from 'node:net';
import { isIP } from 'node:net';
import { CommonCode, LocalError } from '../lib/errors.js';
import { encodeMbap, MbapParser, type MbapFrame } from '../ports/modbus/mbap.js';
import { exceptionPdu } from '../ports/modbus/pdu.js';
import { ExceptionCode, MAX_PDU } from '../ports/modbus/vocabulary.js';

const MAX_PENDING_PER_CLIENT = 32;
const MAX_CLIENTS = 16;
/**
 * Replies a client has not read yet beyond which we stop reading its requests: MAX_PENDING bounds
 * what is in flight, but the instant 0x06 "busy" answers to a client that pipelines and never
 * reads would queue without bound. Paused, the client's own TCP window pushes back on it.
 */
const REPLY_HIGH_WATER = 64 * 1024;

/** Where requests go: the remote slot (SlotChannel.modbus) or anything with the same shape. */
export type ModbusForward = (unit: number, pdu: Uint8Array) => Promise<{ pdu: Uint8Array }>;

function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

interface ModbusTcpStats {
  requests: number;
  errors: number;
  clients: number;
}

export class ModbusTcpEndpoint {
  readonly stats: ModbusTcpStats = { requests: 0, errors: 0, clients: 0 };
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(private readonly forward: ModbusForward) {}

  /** Listens on host:port (loopback only; port 0 = any free port); resolves with "host:port". */
  async listen(host: string, port: number): Promise<string> {
    if (!isLoopback(host)) {
      throw new LocalError(CommonCode.USAGE, `refusing to listen on ${host}: the local Modbus TCP endpoint is loopback only (use 127.0.0.1 or ::1)`);
    }
    const server = createServer({ noDelay: true }, (s) => this.onClient(s));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e) => reject(new LocalError(CommonCode.USAGE, `cannot listen on ${host}:${port}: ${e.message}`, { cause: e })));
      server.listen(port, host, () => resolve());
    });
    const a = server.address();
    if (a === null || typeof a === 'string') throw new LocalError(CommonCode.USAGE, 'no listening address');
    return `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  private onClient(s: Socket): void {
    if (this.sockets.size >= MAX_CLIENTS) {
      s.destroy();
      return;
    }
    this.sockets.add(s);
    this.stats.clients = this.sockets.size;
    let pending = 0;
    // A frame we cannot delimit (length field outside 2..254) or that is not Modbus (protocol id
    // other than 0, TCP/IP guide §3.1.3) cannot be answered or skipped: close, as the guide allows.
    const drop = (): void => {
      this.stats.errors++;
      s.destroy();
    };
    const parser = new MbapParser({
      frame: (f) => {
        if (s.destroyed) return false;
        if (f.protocolId !== 0) {
          drop();
          return false;
        }
        this.stats.requests++;
        if (pending >= MAX_PENDING_PER_CLIENT) reply(s, f, exceptionPdu(f.pdu[0]!, ExceptionCode.SERVER_DEVICE_BUSY));
        else {
          pending++;
          this.forward(f.unit, f.pdu).then(
            (r) => {
              pending--;
              this.relay(s, f, r.pdu);
            },
            (e: unknown) => {
              pending--;
              this.stats.errors++;
              // The forwarding channel full (its own bound on requests in flight) is a busy server
              // (0x06, try again), not a path that failed (0x0A).
              const busy = (e as { code?: unknown }).code === CommonCode.BUFFER_FULL;
              reply(s, f, exceptionPdu(f.pdu[0]!, busy ? ExceptionCode.SERVER_DEVICE_BUSY : ExceptionCode.GATEWAY_PATH_UNAVAILABLE));
            },
          );
        }
        // Past the mark: stop parsing here, even inside a chunk already read (see feed).
        return s.writableLength < REPLY_HIGH_WATER;
      },
      desync: drop,
    });
    // Past the mark the socket is paused until the client reads (drain); `held` keeps the bytes of
    // a chunk already read but not yet parsed, to be parsed from where the parse stopped.
    let held: Buffer | undefined;
    let waiting = false;
    const feed = (chunk?: Buffer): void => {
      if (chunk !== undefined) held = held === undefined ? chunk : Buffer.concat([held, chunk]);
      if (waiting || held === undefined) return;
      const took = parser.push(held);
      held = took < held.length ? held.subarray(took) : undefined;
      if (s.destroyed || s.writableLength < REPLY_HIGH_WATER) return;
      waiting = true;
      s.pause();
      s.once('drain', () => {
        waiting = false;
        feed();
        if (!waiting) s.resume();
      });
    };
    s.on('data', (chunk: Buffer) => feed(chunk));
    s.on('error', () => s.destroy());
    s.on('close', () => {
      this.sockets.delete(s);
      this.stats.clients = this.sockets.size;
    });
  }

  /**
   * Relays the slot's reply. An empty reply is the answer to an RTU broadcast (unit 0), which no
   * slave answers (Modbus over Serial Line §2.1): the client gets no answer either. A reply longer
   * than a PDU can be (§4.1) is nothing a client could parse: the path failed, as when forwarding does.
   */
  private relay(s: Socket, req: MbapFrame, pdu: Uint8Array): void {
    if (pdu.length === 0) return;
    if (pdu.length > MAX_PDU) {
      this.stats.errors++;
      return reply(s, req, exceptionPdu(req.pdu[0]!, ExceptionCode.GATEWAY_PATH_UNAVAILABLE));
    }
    reply(s, req, pdu);
  }
}

/** Answers request `req` with `pdu` under the request's transaction id and unit. */
function reply(s: Socket, req: MbapFrame, pdu: Uint8Array): void {
  if (s.destroyed) return;
  s.write(encodeMbap({ transactionId: req.transactionId, protocolId: 0, unit: req.unit, pdu }));
}
