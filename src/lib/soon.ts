// A value needed later, made on the first turn the process has nothing else to do, or on first use if
// that comes first: work that must be done but not before an answer leaves (a handshake flight),
// taken off the latency path and done while the answer crosses the network (issue #14's cold path).
// setImmediate runs after this turn's I/O callbacks and the writes they corked (nextTick), so the
// answer made on this turn is already out. Not unref'd: node lets the poll block while only unref'd
// immediates wait, and the value would then be made at the next I/O, which is the moment it is
// needed. A pending value holds a process for one more turn at most.

export function soon<T>(make: () => T): () => T {
  let state: { readonly v: T } | undefined;
  const get = (): T => (state ??= { v: make() }).v;
  setImmediate(() => {
    // Errors surface where the value is used, not here.
    try {
      get();
    } catch {
      /* thrown again by the next get() */
    }
  });
  return get;
}
