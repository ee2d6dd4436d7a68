// Strict JSON files: every file kind is a closed object with a "kind" tag; each error names the
// file and the field. Hex fields are lowercase and of exact length. The text goes through the one
// strict reader (lib/strict-json.ts), so a duplicated key (two "seed" fields, two "root_public"
// fields) is refused instead of JSON.parse silently keeping the last one.

import { LocalError } from '../lib/errors.js';
import { readJson, type JsonIssue } from '../lib/strict-json.js';

export type JsonObject = Record<string, unknown>;

/** `file:line: path: expected X, got Y; fix` — the shape config errors use (config/issues.ts). */
function formatJsonIssue(file: string, i: JsonIssue): string {
  const where = i.line !== undefined ? `${file}:${i.line}` : file;
  return `${where}: ${i.path === '' ? '' : `${i.path}: `}expected ${i.expected}, got ${i.found}; ${i.fix}`;
}

/**
 * Parses a JSON file's text with the strict reader. A syntax error or a duplicated key throws a
 * LocalError with `code` (the file kind's own code) naming the file, the line and the field.
 */
export function parseJsonText(text: string, file: string, code: string): unknown {
  const src = readJson(text);
  const first = src.issues[0];
  if (first === undefined) return src.value;
  if (src.value === undefined) throw new LocalError(code, `${file}: not valid JSON (${first.found}); ${first.fix}`);
  throw new LocalError(code, formatJsonIssue(file, first));
}

export function parseJsonObject(text: string, file: string, kind: string, allowed: readonly string[], code: string): JsonObject {
  const v = parseJsonText(text, file, code);
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new LocalError(code, `${file}: expected a JSON object`);
  const o = v as JsonObject;
  if (o.kind !== kind) throw new LocalError(code, `${file}: expected "kind": ${JSON.stringify(kind)}, got ${JSON.stringify(o.kind)?.slice(0, 60)}`);
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) throw new LocalError(code, `${file}: unknown field ${JSON.stringify(k.slice(0, 60))}`);
  }
  return o;
}

/** One object of a list inside a JSON file, with only the `allowed` fields (`where` names it in errors). */
export function jsonEntry(v: unknown, where: string, allowed: readonly string[], code: string): JsonObject {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new LocalError(code, `${where}: expected an object`);
  const o = v as JsonObject;
  for (const k of Object.keys(o)) if (!allowed.includes(k)) throw new LocalError(code, `${where}: unknown field ${JSON.stringify(k.slice(0, 60))}`);
  return o;
}

/** A lowercase hex field of exactly `bytes` bytes. */
export function hexField(o: JsonObject, key: string, bytes: number, file: string, code: string): Uint8Array {
  const v = o[key];
  if (typeof v !== 'string' || v.length !== bytes * 2 || !/^[0-9a-f]*$/.test(v)) {
    throw new LocalError(code, `${file}: field "${key}" must be ${bytes * 2} lowercase hex characters`);
  }
  return new Uint8Array(Buffer.from(v, 'hex'));
}

/** An optional (or required) text field of 1..max characters. */
export function textField(o: JsonObject, key: string, max: number, file: string, code: string, required: true): string;
export function textField(o: JsonObject, key: string, max: number, file: string, code: string, required?: false): string | undefined;
export function textField(o: JsonObject, key: string, max: number, file: string, code: string, required = false): string | undefined {
  const v = o[key];
  if (v === undefined && !required) return undefined;
  if (typeof v !== 'string' || v.length === 0 || v.length > max) {
    throw new LocalError(code, `${file}: field "${key}" must be a text of 1..${max} characters`);
  }
  return v;
}

/** Strict UTF-8 decoding of a file's bytes. */
export function utf8Text(bytes: Uint8Array, file: string, code: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new LocalError(code, `${file}: not UTF-8 text`);
  }
}
