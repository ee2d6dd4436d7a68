// Waiting for a clean-up step without letting it hold the demo's shutdown hostage: the demo must
// stop within a few seconds of Ctrl-C even when a library waits for a peer the same Ctrl-C killed.

/**
 * Resolves true when `p` settles (fulfilled or rejected) within `ms`, false otherwise. `p` is left
 * running either way; its rejection is swallowed (the caller only wants the step over with).
 */
export function settleWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    const done = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    p.then(done, done);
  });
}
