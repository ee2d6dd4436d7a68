// Field paths as printed in errors: `slots.rs485-1.device.units[1].registers[0].table`.
// One spelling for the strict JSON reader (which records line numbers by path, lib/strict-json.ts)
// and the config validators (which report by path), so both always agree on how a path is written.

const PLAIN_KEY = /^[A-Za-z0-9_][A-Za-z0-9_-]*$/;
const INDEX = /^(?:0|[1-9][0-9]*)$/;

/** The segment `key` adds to a path, as it is written at the top level. */
export function keySegment(key: string): string {
  if (PLAIN_KEY.test(key)) return key;
  // Keys with dots, spaces or quotes are printed JSON-quoted so the path stays unambiguous.
  return `[${JSON.stringify(key.length > 64 ? key.slice(0, 64) + '…' : key)}]`;
}

/** The segment array element `i` adds to a path. */
export function indexSegment(i: number): string {
  return `[${i}]`;
}

/** `parent` followed by one segment from keySegment or indexSegment. */
export function joinSegment(parent: string, segment: string): string {
  if (parent === '' || segment.startsWith('[')) return parent + segment;
  return `${parent}.${segment}`;
}

/** The path of `key` inside the object at `parent` ('' is the top level). */
export function childPath(parent: string, key: string): string {
  return joinSegment(parent, keySegment(key));
}

/** The path of element `i` of the array at `parent`. */
export function indexPath(parent: string, i: number): string {
  return joinSegment(parent, indexSegment(i));
}

/**
 * The segments of `path` as keySegment and indexSegment write them (joining them with joinSegment
 * gives `path` back), or undefined when no key or index could spell `path`. '' has none.
 */
export function splitPath(path: string): string[] | undefined {
  const out: string[] = [];
  let i = 0;
  while (i < path.length) {
    let end: number;
    if (path[i] === '[' && path[i + 1] === '"') {
      // A quoted key: JSON.stringify escapes every '"' and '\' inside, so the first unescaped '"' ends it.
      end = i + 2;
      while (end < path.length && path[end] !== '"') end += path[end] === '\\' ? 2 : 1;
      if (path[end + 1] !== ']') return undefined;
      end += 2;
      out.push(path.slice(i, end));
    } else if (path[i] === '[') {
      end = path.indexOf(']', i);
      if (end < 0 || !INDEX.test(path.slice(i + 1, end))) return undefined;
      end += 1;
      out.push(path.slice(i, end));
    } else {
      // A plain key: first in the path, or after a '.'.
      const start = i === 0 ? 0 : path[i] === '.' ? i + 1 : -1;
      if (start < 0) return undefined;
      end = start;
      while (end < path.length && path[end] !== '.' && path[end] !== '[') end++;
      const key = path.slice(start, end);
      if (!PLAIN_KEY.test(key)) return undefined;
      out.push(key);
    }
    i = end;
  }
  return out;
}
