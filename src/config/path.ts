// Field paths as shown in config errors. Paths are spelled by lib/json-path.ts (childPath,
// indexPath), shared with the strict JSON reader that records line numbers by path.

/** How a path is shown to a person: the top level has no path of its own. */
export function showPath(path: string): string {
  return path === '' ? '(top level)' : path;
}

/** True when `inner` is `outer` itself or lies inside it (`a.b` is inside `a`, `a[0]` inside `a`). */
export function isWithin(inner: string, outer: string): boolean {
  if (outer === '') return true;
  return inner === outer || inner.startsWith(outer + '.') || inner.startsWith(outer + '[');
}
