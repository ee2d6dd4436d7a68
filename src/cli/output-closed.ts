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

/** Exit status when stdout's reader closed the pipe early (128 + SIGPIPE, as the shell reports it). */
export const EXIT_OUTPUT_CLOSED = 141;

const closed = new AbortController();

/** Aborted once a write to stdout has failed; its reason is the error. */
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
 * Listens for write errors on the process's own streams (main.ts, once). stdout's first error closes
 * the output; stderr's are dropped (`2>&1 | head`: there is nowhere left to say anything, and stdout,
 * the same pipe, fails at its next write).
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
  stderr.on('error', () => undefined);
}
