// Field paths as printed in config errors: `slots.rs485-1.device.units[1].registers[0].table`.
// One formatter for the JSON reader (which records line numbers by path) and the validators
// (which report by path), so both always agree on the spelling of a path.

const PLAIN_KEY = /^[A-Za-z0-9_][A-Za-z0-9_-]*$/;

/** The path of `key` inside the object at `parent` ('' is the top level). */
export function childPath(parent: string, key: string): string {
  if (PLAIN_KEY.test(key)) return parent === '' ? key : `${parent}.${key}`;
  // Keys with dots, spaces or quotes are printed JSON-quoted so the path stays unambiguous.
  return `${parent}[${JSON.stringify(key.length > 64 ? key.slice(0, 64) + '…' : key)}]`;
}

/** The path of element `i` of the array at `parent`. */
export function indexPath(parent: string, i: number): string {
  return `${parent}[${i}]`;
}

/** How a path is shown to a person: the top level has no path of its own. */
export function showPath(path: string): string {
  return path === '' ? '(top level)' : path;
}

/** True when `inner` is `outer` itself or lies inside it (`a.b` is inside `a`, `a[0]` inside `a`). */
export function isWithin(inner: string, outer: string): boolean {
  if (outer === '') return true;
  return inner === outer || inner.startsWith(outer + '.') || inner.startsWith(outer + '[');
}
