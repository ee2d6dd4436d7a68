// Field paths as printed in errors: `slots.rs485-1.device.units[1].registers[0].table`.
// One spelling for the strict JSON reader (which records line numbers by path, lib/strict-json.ts)
// and the config validators (which report by path), so both always agree on how a path is written.

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
