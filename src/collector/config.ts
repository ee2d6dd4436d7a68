// The collector's config file (docs/COLLECTOR.md). Strict JSON, every path relative to the file:
//   {"kind": "uzp-gw/collector-config", "name"?: text,
//    "identity": {"key": FILE, "pcert": FILE},                 (PCert role "collector")
//    "trust": {"anchor": FILE, "rn_set": FILE, "revocations"?: [FILE]},
//    "db"?: FILE | "postgres://…"                              (default collector.db beside the file)
//    "purposes"?: [text]                                       (what it processes readings for; default ["telemetry.store"])
//    "rn"?: {"links"?: 1..4}}
// Like the gateway, the collector only dials out: it has no listener (OI §11.3).

import { dirname, resolve } from 'node:path';
import { readFileCapped } from '../files/fsutil.js';
import { parseJsonObject, textField, utf8Text, type JsonObject } from '../files/json.js';
import { FileErrorCode } from '../files/errors.js';
import { LocalError } from '../lib/errors.js';
import { PURPOSE_PATTERN } from '../uzp/artefacts/grant.js';

const KIND = 'uzp-gw/collector-config';
const MAX_FILE = 64 * 1024;
export const DEFAULT_PURPOSES = ['telemetry.store'] as const;

export interface CollectorConfig {
  readonly file: string;
  readonly name?: string;
  readonly identity: { readonly key: string; readonly pcert: string };
  readonly trust: { readonly anchor: string; readonly rnSet: string; readonly revocations: readonly string[] };
  /** A SQLite file path (absolute) or a postgres:// URL. */
  readonly db: string;
  readonly purposes: readonly string[];
  readonly rnLinks: number;
}

function bad(file: string, what: string): LocalError {
  return new LocalError(FileErrorCode.FILE_INVALID, `${file}: ${what}`);
}

function obj(o: JsonObject, key: string, keys: readonly string[], file: string, required: boolean): JsonObject | undefined {
  const v = o[key];
  if (v === undefined && !required) return undefined;
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw bad(file, `"${key}" must be an object with ${keys.map((k) => `"${k}"`).join(', ')}`);
  for (const k of Object.keys(v)) if (!keys.includes(k)) throw bad(file, `"${key}": unknown field ${JSON.stringify(k.slice(0, 60))}`);
  return v as JsonObject;
}

export function parseCollectorConfig(text: string, file: string): CollectorConfig {
  const code = FileErrorCode.FILE_INVALID;
  const o = parseJsonObject(text, file, KIND, ['kind', 'name', 'identity', 'trust', 'db', 'purposes', 'rn'], code);
  const dir = dirname(resolve(file));
  const path = (x: JsonObject, key: string, where: string): string => resolve(dir, textField(x, key, 1024, `${file}: ${where}`, code, true));
  const id = obj(o, 'identity', ['key', 'pcert'], file, true)!;
  const tr = obj(o, 'trust', ['anchor', 'rn_set', 'revocations'], file, true)!;
  // undefined (absent) is the default; null is a value, refused as the gateway config refuses it.
  const revs = tr.revocations === undefined ? [] : tr.revocations;
  if (!Array.isArray(revs) || revs.length > 16 || !revs.every((r) => typeof r === 'string' && r.length > 0)) throw bad(file, '"trust.revocations" must be a list of at most 16 file paths');
  const db = o.db === undefined ? resolve(dir, 'collector.db') : textField(o, 'db', 2048, file, code, true);
  const purposes = o.purposes === undefined ? [...DEFAULT_PURPOSES] : o.purposes;
  if (!Array.isArray(purposes) || purposes.length === 0 || purposes.length > 16 || !purposes.every((p) => typeof p === 'string' && PURPOSE_PATTERN.test(p)) || new Set(purposes).size !== purposes.length) {
    throw bad(file, '"purposes" must be 1..16 distinct purpose names such as "telemetry.store"');
  }
  const rn = obj(o, 'rn', ['links'], file, false);
  const links = rn?.links === undefined ? 2 : rn.links;
  if (typeof links !== 'number' || !Number.isInteger(links) || links < 1 || links > 4) throw bad(file, '"rn.links" must be 1..4');
  const name = textField(o, 'name', 64, file, code);
  return {
    file: resolve(file),
    ...(name !== undefined ? { name } : {}),
    identity: { key: path(id, 'key', 'identity'), pcert: path(id, 'pcert', 'identity') },
    trust: { anchor: path(tr, 'anchor', 'trust'), rnSet: path(tr, 'rn_set', 'trust'), revocations: (revs as string[]).map((r) => resolve(dir, r)) },
    db: /^postgres(ql)?:\/\//.test(db) ? db : resolve(dir, db),
    purposes: purposes as string[],
    rnLinks: links,
  };
}

export function loadCollectorConfig(file: string): CollectorConfig {
  return parseCollectorConfig(utf8Text(readFileCapped(file, MAX_FILE, 'collector config').bytes, file, FileErrorCode.FILE_INVALID), file);
}
