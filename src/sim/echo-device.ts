// A raw byte echo device: every byte received is sent straight back (a loopback plug on a serial
// port), for the `serial-raw` passthrough driver and the pacer's round-trip tests.

import { listen, type ByteDuplex } from './duplex.js';

export class EchoDevice {
  /** Bytes echoed so far. */
  bytes = 0;
  private readonly unlisten: () => void;

  constructor(private readonly line: ByteDuplex) {
    this.unlisten = listen(line, (chunk) => {
      this.bytes += chunk.length;
      this.line.write(chunk.slice());
    });
  }

  close(): void {
    this.unlisten();
  }
}
