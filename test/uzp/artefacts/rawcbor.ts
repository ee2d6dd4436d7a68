// A tiny hand CBOR writer for building deliberately non-canonical inputs (key order as given,
// chosen integer widths, indefinite lengths, duplicate keys). Test helper only.

import type { CborValue } from '../../../src/uzp/cbor.js';
import { concat } from '../../../src/uzp/bytes.js';

export type Raw =
  | { t: 'uint'; v: number; width?: 1 | 2 | 4 | 8 }
  | { t: 'bytes'; v: Uint8Array; width?: 1 | 2 | 4 | 8 }
  | { t: 'text'; v: string }
  | { t: 'bool'; v: boolean }
  | { t: 'arr'; v: Raw[]; indef?: boolean }
  | { t: 'map'; v: [Raw, Raw][]; indef?: boolean }
  | { t: 'raw'; v: Uint8Array };

function head(major: number, n: number, width?: 1 | 2 | 4 | 8): Uint8Array {
  const w = width ?? (n < 24 ? 0 : n < 0x100 ? 1 : n < 0x10000 ? 2 : n < 0x1_0000_0000 ? 4 : 8);
  if (w === 0) return Uint8Array.of((major << 5) | n);
  const out = new Uint8Array(1 + w);
  out[0] = (major << 5) | { 1: 24, 2: 25, 4: 26, 8: 27 }[w];
  let x = BigInt(n);
  for (let i = w; i >= 1; i--) {
    out[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return out;
}

export function enc(r: Raw): Uint8Array {
  switch (r.t) {
    case 'uint':
      return head(0, r.v, r.width);
    case 'bytes':
      return concat(head(2, r.v.length, r.width), r.v);
    case 'text': {
      const b = new TextEncoder().encode(r.v);
      return concat(head(3, b.length), b);
    }
    case 'bool':
      return Uint8Array.of(r.v ? 0xf5 : 0xf4);
    case 'arr':
      return r.indef ? concat(Uint8Array.of(0x9f), ...r.v.map(enc), Uint8Array.of(0xff)) : concat(head(4, r.v.length), ...r.v.map(enc));
    case 'map': {
      const parts = r.v.flatMap(([k, v]) => [enc(k), enc(v)]);
      return r.indef ? concat(Uint8Array.of(0xbf), ...parts, Uint8Array.of(0xff)) : concat(head(5, r.v.length), ...parts);
    }
    case 'raw':
      return r.v;
  }
}

/** Converts a profile value to Raw with map keys in canonical order (text keys: length, then bytes). */
export function raw(v: CborValue): Raw {
  if (typeof v === 'number') return { t: 'uint', v };
  if (typeof v === 'string') return { t: 'text', v };
  if (typeof v === 'boolean') return { t: 'bool', v };
  if (v instanceof Uint8Array) return { t: 'bytes', v };
  if (Array.isArray(v)) return { t: 'arr', v: v.map(raw) };
  if (v === null) throw new Error('null not needed');
  const keys = Object.keys(v).sort((a, b) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0));
  return { t: 'map', v: keys.map((k) => [{ t: 'text', v: k }, raw(v[k]!)] as [Raw, Raw]) };
}

export const text = (v: string): Raw => ({ t: 'text', v });
