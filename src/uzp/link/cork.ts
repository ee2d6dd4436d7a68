// Write batching for link sockets: every write made in one turn of the event loop leaves in one
// writev system call (cork now, uncork on the next tick). On the relay hot path this turns one
// syscall per frame — two per RELAY on the EP side, header and payload, written without
// concatenating them — into one per turn.

import type { Socket } from 'node:net';

export interface Writer {
  /** Node stream contract: false means "stop writing until 'drain'". */
  write(b: Uint8Array): boolean;
}

export function corkingWriter(socket: Socket): Writer {
  let corked = false;
  const uncork = (): void => {
    corked = false;
    socket.uncork();
  };
  return {
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
