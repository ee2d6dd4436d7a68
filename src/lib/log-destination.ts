// Where JSON log lines go (pino destinations), written so that a failing write does not end the
// process. pino's destination re-emits a write error (anything but EPIPE) as an 'error' event with
// no listener left, and Node ends a process on an 'error' nobody listens to: a full SD card under
// the audit file, or under a journal-less stdout redirected to a file, would have stopped a gateway
// that otherwise rides out a full disk (the reading log retries its commits). Here the error is
// said once on stderr; lines written meanwhile are lost, as on any full disk.
//
// EPIPE is different: the reader of the pipe is gone for good (`uzpgw gateway | head -n1`, a log
// shipper that died). pino drops it silently and turns the destination into a no-op, so a server
// would run on with its log going nowhere. On fd 1 or 2 the error is handed to process.stdout's or
// process.stderr's 'error' listeners: those streams own the same file, pino just writes it directly,
// and the CLI watches them (src/cli/output-closed.ts stops the long-running commands and exits 141).

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
    if (e.code === 'EPIPE' && handToProcessStream(dest, e)) return;
    try {
      process.stderr.write(`uzpgw: ${what}: a write failed (${e.code ?? e.message}); lines are lost until writes work again\n`);
    } catch {
      // stderr itself may be the failing file: nothing more to say
    }
  });
  return d;
}

/**
 * A closed pipe on fd 1 / 2: emitted on process.stdout / process.stderr when someone listens there
 * (false otherwise: then it is said like any other write error). On the next tick, as Node emits a
 * stream's own errors: the failed write is inside some log call, and the listeners start a stop.
 */
function handToProcessStream(dest: number | string, e: NodeJS.ErrnoException): boolean {
  const stream = dest === 1 ? process.stdout : dest === 2 ? process.stderr : undefined;
  if (stream === undefined || stream.listenerCount('error') === 0) return false;
  process.nextTick(() => stream.emit('error', e));
  return true;
}
