// When stdout's reader goes away: `uzpgw connect … tail --json | head -n1`, `uzpgw demo --json | head`.
// Node ignores SIGPIPE, so the next write to the closed pipe fails with EPIPE, emitted as an 'error'
// event on process.stdout. Nobody listened: the process died with a stack trace, and the demo's RN,
// gateway and operators were left to their parent watch, the sessions to their peers' timeouts.
//
// Here the error ends the command the way an interrupt does: commands that run until stopped (connect,
// demo, hil) listen to `outputClosed` beside SIGINT/SIGTERM and stop by the same path (children by
// pid, sessions closed); one-shot commands just finish, their last write lost. The process then exits
// quietly with 141, which is what a shell reports for a program a broken pipe killed (128 + SIGPIPE,
// as for `git log | head` or `yes | head`): a `set -o pipefail` script sees uzpgw as it sees coreutils,
// and the status does not claim the whole output was read. Any other write error on stdout (EIO, a
// full disk under a redirect) stops it the same way, with one line on stderr and exit 1.
//
// The servers (gateway, collector, rn) are the same case with their log as the output: `uzpgw
// gateway | head -n1`, or a log shipper that died, left them running for good with every line lost
// and no sign. pino writes the log's fd itself and drops EPIPE; src/lib/log-destination.ts hands it
// to process.stdout / process.stderr, so it arrives here. The servers stop by the path SIGTERM takes
// (stopWhenLogClosed), say why on stderr, and exit 141. `uzpgw rn` logs on stderr, so for it stderr's
// reader going away counts too (stderrCarriesTheLog).

/** Exit status when stdout's reader closed the pipe early (128 + SIGPIPE, as the shell reports it). */
export const EXIT_OUTPUT_CLOSED = 141;

const closed = new AbortController();
/** Which stream's write failed first (the stderr line of stopWhenLogClosed names it). */
let closedStream: 'stdout' | 'stderr' = 'stdout';
/** Set by a server that logs on stderr: then stderr's EPIPE closes the output as stdout's does. */
let stderrIsOutput = false;

/** Aborted once a write to stdout has failed (or to stderr, where a server logs: stderrCarriesTheLog); its reason is the error. */
export const outputClosed: AbortSignal = closed.signal;

/** Calls `fn` once stdout is gone (at once if it is already); returns the unsubscribe function. */
export function onOutputClosed(fn: () => void): () => void {
  if (outputClosed.aborted) {
    queueMicrotask(fn);
    return () => {};
  }
  outputClosed.addEventListener('abort', fn, { once: true });
  return () => outputClosed.removeEventListener('abort', fn);
}

/** The process's exit status for a command that returned `code`: 141 or 1 once stdout failed. */
export function exitStatus(code: number): number {
  if (!outputClosed.aborted) return code;
  return (outputClosed.reason as NodeJS.ErrnoException | undefined)?.code === 'EPIPE' ? EXIT_OUTPUT_CLOSED : 1;
}

/**
 * For a server whose log is stderr (`uzpgw rn`; its stdout carries one line): from now on stderr's
 * reader going away (EPIPE) closes the output as stdout's does, since its log has nowhere to go.
 */
export function stderrCarriesTheLog(): void {
  stderrIsOutput = true;
}

/**
 * For the servers (gateway, collector, rn): once the output is closed, one line on stderr saying
 * why (lost when stderr is the closed pipe) and `stop`, the path their SIGTERM takes; their 0 then
 * becomes 141 (exitStatus). Any other stdout failure was already said by watchOutput. Returns the
 * unsubscribe function.
 */
export function stopWhenLogClosed(command: string, stop: () => void, stderr: NodeJS.WritableStream = process.stderr): () => void {
  return onOutputClosed(() => {
    if ((outputClosed.reason as NodeJS.ErrnoException | undefined)?.code === 'EPIPE') {
      try {
        stderr.write(`uzpgw ${command}: ${closedStream} closed by its reader (EPIPE), its log lines go nowhere: stopping as on SIGTERM, exit ${EXIT_OUTPUT_CLOSED}\n`);
      } catch {
        // stderr may be that pipe
      }
    }
    stop();
  });
}

/**
 * Listens for write errors on the process's own streams (main.ts, once). stdout's first error closes
 * the output; stderr's are dropped (`2>&1 | head`: there is nowhere left to say anything, and stdout,
 * the same pipe, fails at its next write), unless a server's log is there (stderrCarriesTheLog).
 */
export function watchOutput(stdout: NodeJS.WritableStream, stderr: NodeJS.WritableStream): void {
  stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (outputClosed.aborted) return;
    if (e.code !== 'EPIPE') {
      try {
        stderr.write(`uzpgw: stdout: a write failed (${e.code ?? e.message}); stopping\n`);
      } catch {
        // stderr may be the same failing file
      }
    }
    closed.abort(e);
  });
  stderr.on('error', (e: NodeJS.ErrnoException) => {
    if (!stderrIsOutput || e.code !== 'EPIPE' || outputClosed.aborted) return;
    closedStream = 'stderr';
    closed.abort(e);
  });
}
