// A local Modbus TCP endpoint (Modbus Messaging on TCP/IP Implementation Guide V1.0b §3.1: MBAP
// header = transaction id u16, protocol id u16 = 0, length u16, unit id u8; then the PDU) that
// forwards every request PDU to a remote slot through the HIL session. It listens on loopback
// only: it exists so that any standard Modbus TCP client (SCADA, a PLC tool) on the operator's
// workstation can reach the slot; it must never become a network service.

import { createServer, type Server, type Socket } from 'node:net';
import { isIP } from 'node:net';
import { exceptionPdu, ModbusExceptionCode } from '../hil/modbus-request.js';
import { CommonCode, LocalError } from '../lib/errors.js';

const MBAP_LENGTH = 7;
const MAX_ADU = 260; // 7-byte MBAP + 253-byte PDU
const MAX_PENDING_PER_CLIENT = 32;
const MAX_CLIENTS = 16;

/** Where requests go: the remote slot (SlotChannel.modbus) or anything with the same shape. */
export type ModbusForward = (unit: number, pdu: Uint8Array) => Promise<{ pdu: Uint8Array }>;

export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

export interface ModbusTcpStats {
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
    let buf: Buffer = Buffer.alloc(0);
    let pending = 0;
    s.on('data', (chunk: Buffer) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      while (buf.length >= MBAP_LENGTH) {
        const tid = buf.readUInt16BE(0);
        const protocol = buf.readUInt16BE(2);
        const length = buf.readUInt16BE(4);
        // A frame we cannot delimit cannot be answered or skipped: close, as the guide allows.
        if (protocol !== 0 || length < 2 || length + 6 > MAX_ADU) {
          this.stats.errors++;
          s.destroy();
          return;
        }
        if (buf.length < 6 + length) break;
        const unit = buf[6]!;
        const pdu = new Uint8Array(buf.subarray(MBAP_LENGTH, 6 + length));
        buf = buf.subarray(6 + length);
        this.stats.requests++;
        if (pending >= MAX_PENDING_PER_CLIENT) {
          reply(s, tid, unit, exceptionPdu(pdu[0]!, 0x06));
          continue;
        }
        pending++;
        this.forward(unit, pdu).then(
          (r) => {
            pending--;
            reply(s, tid, unit, r.pdu);
          },
          () => {
            pending--;
            this.stats.errors++;
            reply(s, tid, unit, exceptionPdu(pdu[0]!, ModbusExceptionCode.GATEWAY_PATH_UNAVAILABLE));
          },
        );
      }
    });
    s.on('error', () => s.destroy());
    s.on('close', () => {
      this.sockets.delete(s);
      this.stats.clients = this.sockets.size;
    });
  }
}

function reply(s: Socket, tid: number, unit: number, pdu: Uint8Array): void {
  if (s.destroyed) return;
  const out = Buffer.allocUnsafe(MBAP_LENGTH + pdu.length);
  out.writeUInt16BE(tid, 0);
  out.writeUInt16BE(0, 2);
  out.writeUInt16BE(pdu.length + 1, 4);
  out[6] = unit;
  out.set(pdu, MBAP_LENGTH);
  s.write(out);
}
