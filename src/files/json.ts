// Strict JSON file fields: every file kind is a closed object with a "kind" tag; each error names
// the file and the field. Hex fields are lowercase and of exact length.

import { LocalError } from '../lib/errors.js';

export type JsonObject = Record<string, unknown>;

export function parseJsonObject(text: string, file: string, kind: string, allowed: readonly string[], code: string): JsonObject {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new LocalError(code, `${file}: not valid JSON (${(e as Error).message})`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new LocalError(code, `${file}: expected a JSON object`);
  const o = v as JsonObject;
  if (o.kind !== kind) throw new LocalError(code, `${file}: expected "kind": ${JSON.stringify(kind)}, got ${JSON.stringify(o.kind)?.slice(0, 60)}`);
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) throw new LocalError(code, `${file}: unknown field ${JSON.stringify(k.slice(0, 60))}`);
  }
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
