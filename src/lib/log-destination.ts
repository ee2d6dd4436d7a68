// Where JSON log lines go (pino destinations), written so that a failing write does not end the
// process. pino's destination re-emits a write error (anything but EPIPE) as an 'error' event with
// no listener left, and Node ends a process on an 'error' nobody listens to: a full SD card under
// the audit file, or under a journal-less stdout redirected to a file, would have stopped a gateway
// that otherwise rides out a full disk (the reading log retries its commits). Here the error is
// said once on stderr; lines written meanwhile are lost, as on any full disk.

import { pino } from 'pino';

/**
 * A synchronous pino destination for a file descriptor or path, with a listener for its write
 * errors (`what` names it on stderr, once). Synchronous: with an asynchronous one writing to
 * /dev/full, a process that had logged never exited (measured, with and without a listener), so a
 * service on a full disk could not have been stopped cleanly.
 */
export function logDestination(dest: number | string, what: string): pino.DestinationStream {
  const d = pino.destination({ dest, sync: true });
  let said = false;
  d.on('error', (e: NodeJS.ErrnoException) => {
    if (said) return;
    said = true;
    try {
      process.stderr.write(`uzpgw: ${what}: a write failed (${e.code ?? e.message}); lines are lost until writes work again\n`);
    } catch {
      // stderr itself may be the failing file: nothing more to say
    }
  });
  return d;
}
