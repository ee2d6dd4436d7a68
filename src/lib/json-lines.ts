// Line numbers by field path for the strict JSON reader (lib/strict-json.ts), kept as a tree of
// path segments instead of one map keyed by whole path strings. V8 hashes a string longer than
// 16,383 characters by its length alone, so all long paths of one length (the elements of an array
// under a few long keys) fell into one hash bucket, and every insert compared whole paths: 2,000
// elements under 63 keys of 2,000 characters took 25 s, 8,000 several minutes. The tree hashes one
// segment at a time, and a whole path is read only when someone looks a line up.

import { splitPath } from './json-path.js';

/** Line (1-based) of each field path, looked up by its path as lib/json-path.ts spells it. */
export interface JsonLines {
  get(path: string): number | undefined;
}

/** One field: its line, once known, and the fields inside it by segment (json-path.ts keySegment, indexSegment). */
export class LineNode {
  line: number | undefined;
  private children: Map<string, LineNode> | undefined;

  /** The field at `segment` inside this one, created when absent. */
  child(segment: string): LineNode {
    this.children ??= new Map();
    let n = this.children.get(segment);
    if (n === undefined) {
      n = new LineNode();
      this.children.set(segment, n);
    }
    return n;
  }

  find(segment: string): LineNode | undefined {
    return this.children?.get(segment);
  }
}

export class LineTree implements JsonLines {
  /** The top-level value (path ''). */
  readonly root = new LineNode();

  get(path: string): number | undefined {
    const segments = splitPath(path);
    if (segments === undefined) return undefined;
    let n: LineNode | undefined = this.root;
    for (const s of segments) {
      n = n.find(s);
      if (n === undefined) return undefined;
    }
    return n.line;
  }
}
