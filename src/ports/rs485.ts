// RS-485 direction control for half-duplex buses.
//
// serialport 13's Linux binding exposes no TIOCSRS485 ioctl, so the kernel's own RS-485 mode
// (the usual choice: `linux,rs485-enabled-at-boot-time` in the device tree overlay of a CM4
// carrier, or a USB adapter with automatic direction control) is configured outside this
// process: direction 'auto' does nothing here. Direction 'rts' is the software fallback: RTS is
// raised, the frame written, the kernel asked to drain (tcdrain waits until the last stop bit
// has left the UART), and RTS lowered, with optional settling delays either side. It is slower
// than kernel control by one syscall round trip per frame; a Modbus master only turns the line
// around once per request, so that is acceptable.

import type { Clock } from '../lib/clock.js';
import type { SerialPortLike } from './serial-port-like.js';

export type Rs485Options =
  | { readonly direction: 'auto' }
  | {
      readonly direction: 'rts';
      /** Driver enable is active when RTS is low (some transceivers are wired inverted). */
      readonly rtsActiveLow?: boolean;
      readonly delayBeforeSendMs?: number;
      readonly delayAfterSendMs?: number;
    };

export class Rs485Direction {
  constructor(
    private readonly opts: Rs485Options,
    private readonly clock: Clock,
  ) {}

  /**
   * Modem-line flags that keep the transmitter off. Linux raises RTS when a tty is opened, and
   * serialport's set() asserts RTS unless told otherwise, so the link applies these right after
   * every open: a driver left enabled would jam every slave on the pair.
   */
  idleFlags(): { rts?: boolean } {
    return this.opts.direction === 'rts' ? { rts: this.opts.rtsActiveLow ?? false } : {};
  }

  /** Writes one frame with the transmitter enabled around it. */
  async send(port: SerialPortLike, data: Uint8Array): Promise<void> {
    const buf = Buffer.from(data.buffer, data.byteOffset, data.length);
    if (this.opts.direction === 'auto') {
      await cb((done) => port.write(buf, done));
      return;
    }
    const on = !(this.opts.rtsActiveLow ?? false);
    await cb((done) => port.set({ rts: on }, done));
    try {
      await this.sleep(this.opts.delayBeforeSendMs ?? 0);
      await cb((done) => port.write(buf, done));
      await cb((done) => port.drain(done));
      await this.sleep(this.opts.delayAfterSendMs ?? 0);
    } finally {
      // Always release the bus, even if the write failed: a stuck driver enable jams every slave.
      await cb((done) => port.set({ rts: !on }, done)).catch(() => {});
    }
  }

  private sleep(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((res) => this.clock.setTimeout(res, ms));
  }
}

function cb(f: (done: (e: Error | null | undefined) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => f((e) => (e ? reject(e) : resolve())));
}
