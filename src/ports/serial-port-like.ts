// The part of a serialport stream SerialLink uses. `SerialPort` (native binding) and
// `SerialPortMock` (@serialport/binding-mock) both satisfy it, so framing tests can run on the
// mock while integration tests use the real binding over PTYs.

export interface PortOpenOptions {
  readonly path: string;
  readonly baudRate: number;
  readonly dataBits: 5 | 6 | 7 | 8;
  readonly parity: 'none' | 'even' | 'odd';
  readonly stopBits: 1 | 2;
}

type Cb = (err: Error | null | undefined) => void;

export interface SerialPortLike {
  readonly isOpen: boolean;
  open(cb: Cb): void;
  close(cb?: Cb): void;
  write(data: Buffer, cb: Cb): boolean;
  drain(cb: Cb): void;
  /** Modem lines; `lowLatency` reaches the Linux binding (bindings-cpp LinuxSetOptions). */
  set(opts: { rts?: boolean; dtr?: boolean; lowLatency?: boolean }, cb: Cb): void;
  on(event: 'data', fn: (chunk: Buffer) => void): this;
  on(event: 'error', fn: (e: Error) => void): this;
  on(event: 'close', fn: (e: Error | null) => void): this;
  on(event: 'end', fn: () => void): this;
  removeAllListeners(): this;
}

export type PortFactory = (o: PortOpenOptions) => SerialPortLike;

export function openPortLike(port: SerialPortLike): Promise<void> {
  return new Promise((resolve, reject) => port.open((e) => (e ? reject(e) : resolve())));
}

/** Writes and resolves once the binding took the bytes (its callback). */
export function writeAndWait(port: SerialPortLike, data: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    port.write(Buffer.from(data.buffer, data.byteOffset, data.length), (e) => (e ? reject(e) : resolve()));
  });
}

/** Closes if open; never throws (a port that is already gone is closed enough). */
export function closeQuietly(port: SerialPortLike): Promise<void> {
  return new Promise((resolve) => {
    if (!port.isOpen) return resolve();
    try {
      port.close(() => resolve());
    } catch {
      resolve();
    }
  });
}
