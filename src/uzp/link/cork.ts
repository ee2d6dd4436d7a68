// Write batching for link sockets: every write made in one turn of the event loop leaves in one
// writev system call (cork now, uncork on the next tick). On the relay hot path this turns one
// syscall per frame — two per RELAY on the EP side, header and payload, written without
// concatenating them — into one per turn.

import type { Socket } from 'node:net';

export interface Writer {
  /** Node stream contract: false means "stop writing until 'drain'". */
  write(b: Uint8Array): boolean;
  /**
   * Writes what this turn has corked now, not on the next tick: for a frame whose peer can start
   * working on it while this side goes on with work of its own (a handshake flight).
   */
  flush(): void;
}

export function corkingWriter(socket: Socket): Writer {
  let corked = false;
  const uncork = (): void => {
    corked = false;
    socket.uncork();
  };
  return {
    // The nextTick scheduled by the write still runs: uncork() with nothing corked does nothing,
    // and a write made after the flush corks again and schedules its own.
    flush: (): void => {
      if (corked) uncork();
    },
    write(b: Uint8Array): boolean {
      if (!corked) {
        corked = true;
        socket.cork();
        process.nextTick(uncork);
      }
      return socket.write(b);
    },
  };
}
