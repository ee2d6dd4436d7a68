// Pantheon's issuing state in DIR/state.json: the counters that must only ever go up (Grant
// nonces per subject+audience, RN Set epoch/sequence, the cumulative revocation list), and the role
// of every CID this directory enrolled (so `pantheon grant` can refuse a Grant to the wrong role). Written
// atomically; a command updates the state *before* writing its artefact so a counter is never
// reused even if the artefact write fails. Commands read, change and write it under DIR/state.json.lock
// (updateState), so two admins at once wait for each other instead of losing an update.
//   {"kind":"uzp-gw/pantheon-state","grant_nonces":{"<sub hex>:<aud hex>":n},
//    "rn_set":{"epoch":n,"sequence":n},"revocation":{"epoch":n,"sequence":n,"cids":[hex],"ids":[hex]},
//    "members"?:{"<cid hex>":"gateway"|"operator"|"rn"}}   (absent in state files from before it)

import { join } from 'node:path';
import { readTextFileIfExists, writeJsonFileAtomic } from '../files/json-file.js';
import { withFileLock } from '../files/lock.js';
import { parseJsonObject, type JsonObject } from '../files/json.js';
import { FileErrorCode } from '../files/errors.js';
import { LocalError } from '../lib/errors.js';
import { isRole, ROLES } from '../uzp/artefacts/pcert.js';
import type { Role } from '../uzp/artefacts/types.js';

const STATE_KIND = 'uzp-gw/pantheon-state';
const STATE_FILE = 'state.json';
const MAX_STATE_FILE = 8 * 1024 * 1024;

interface PantheonState {
  grantNonces: Record<string, number>;
  rnSet: { epoch: number; sequence: number };
  revocation: { epoch: number; sequence: number; cids: string[]; ids: string[] };
  /** CID hex -> the role it was last enrolled with. */
  members: Record<string, Role>;
}

export function emptyState(): PantheonState {
  return { grantNonces: {}, rnSet: { epoch: 0, sequence: 0 }, revocation: { epoch: 0, sequence: 0, cids: [], ids: [] }, members: {} };
}

export function statePath(dir: string): string {
  return join(dir, STATE_FILE);
}

/**
 * The state of an initialised domain. `pantheon init` always writes it, so a missing file is an
 * error, never an empty state: counters restarting at 1 would reissue sequences endpoints already
 * hold (a revocation list refused as stale, or one that drops earlier revocations).
 */
export function loadState(dir: string): PantheonState {
  const file = statePath(dir);
  const text = readTextFileIfExists(file, MAX_STATE_FILE, 'Pantheon state file');
  if (text === undefined) {
    throw new LocalError(FileErrorCode.FILE_NOT_FOUND, `${file}: the trust domain's issuing state is missing (pantheon init writes it; its counters must never restart); restore it from a backup`);
  }
  return parseState(text, file);
}

/** Reads the state, lets `change` update it, writes it back: all under the state's lock. */
export function updateState<T>(dir: string, change: (s: PantheonState) => T): T {
  return withFileLock(statePath(dir), () => {
    const s = loadState(dir);
    const r = change(s);
    saveState(dir, s);
    return r;
  });
}

export function saveState(dir: string, s: PantheonState): void {
  writeJsonFileAtomic(statePath(dir), {
    kind: STATE_KIND,
    grant_nonces: s.grantNonces,
    rn_set: s.rnSet,
    revocation: s.revocation,
    members: s.members,
  });
}

function bad(file: string, what: string): LocalError {
  return new LocalError(FileErrorCode.FILE_INVALID, `${file}: ${what} (the state file was edited or corrupted; restore it from a backup)`);
}

function uint(v: unknown, file: string, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw bad(file, `${what} must be a non-negative integer`);
  return v;
}

function obj(v: unknown, file: string, what: string): JsonObject {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw bad(file, `${what} must be an object`);
  return v as JsonObject;
}

function hexList(v: unknown, file: string, what: string): string[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string' && /^[0-9a-f]{64}$/.test(x))) throw bad(file, `${what} must be a list of 64-hex ids`);
  return v as string[];
}

function parseState(text: string, file: string): PantheonState {
  const o = parseJsonObject(text, file, STATE_KIND, ['kind', 'grant_nonces', 'rn_set', 'revocation', 'members'], FileErrorCode.FILE_INVALID);
  const gn = obj(o.grant_nonces, file, 'grant_nonces');
  const grantNonces: Record<string, number> = {};
  for (const [k, v] of Object.entries(gn)) {
    if (!/^[0-9a-f]{64}:[0-9a-f]{64}$/.test(k)) throw bad(file, `grant_nonces key ${JSON.stringify(k.slice(0, 40))} is not "<subject>:<audience>"`);
    grantNonces[k] = uint(v, file, `grant_nonces[${k.slice(0, 8)}…]`);
  }
  const members: Record<string, Role> = {};
  for (const [k, v] of Object.entries(o.members === undefined ? {} : obj(o.members, file, 'members'))) {
    if (!/^[0-9a-f]{64}$/.test(k) || typeof v !== 'string' || !isRole(v)) throw bad(file, `members entry ${JSON.stringify(k.slice(0, 16))} is not "<cid>": ${ROLES.map((r) => `"${r}"`).join('|')}`);
    members[k] = v;
  }
  const rn = obj(o.rn_set, file, 'rn_set');
  const rv = obj(o.revocation, file, 'revocation');
  return {
    grantNonces,
    rnSet: { epoch: uint(rn.epoch, file, 'rn_set.epoch'), sequence: uint(rn.sequence, file, 'rn_set.sequence') },
    revocation: {
      epoch: uint(rv.epoch, file, 'revocation.epoch'),
      sequence: uint(rv.sequence, file, 'revocation.sequence'),
      cids: hexList(rv.cids, file, 'revocation.cids'),
      ids: hexList(rv.ids, file, 'revocation.ids'),
    },
    members,
  };
}
