// Exit with the parent, for the processes `uzpgw hil run` and the demo start (an RN, a gateway):
// a parent killed with SIGKILL runs no exit hook, so its children would run on, holding the RN's
// port and the gateway's PTYs. The runner sets UZPGW_EXIT_WITH_PARENT=1 and gives the child a
// stdin pipe it never writes to; when the parent dies the kernel closes the pipe's other end, the
// child reads end-of-file and stops itself with SIGTERM (its ordinary, orderly shutdown).
// Without the variable nothing changes: a gateway started by systemd or by hand ignores stdin.

export const EXIT_WITH_PARENT_ENV = 'UZPGW_EXIT_WITH_PARENT';

/** Installs the watch when the environment asks for it; the variable is not passed further down. */
export function watchParent(env: NodeJS.ProcessEnv = process.env, stdin: NodeJS.ReadStream = process.stdin): void {
  if (env[EXIT_WITH_PARENT_ENV] !== '1') return;
  delete env[EXIT_WITH_PARENT_ENV];
  const stop = (): void => {
    process.kill(process.pid, 'SIGTERM');
  };
  stdin.once('end', stop);
  stdin.once('error', stop);
  stdin.resume();
  // The watch alone must not keep the process alive once its work is done.
  (stdin as unknown as { unref?: () => void }).unref?.();
}
