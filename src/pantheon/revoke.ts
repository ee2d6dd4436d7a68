// `pantheon revoke`: issues the next revocation list: every earlier revocation (kept in
// DIR/state.json) plus the new CIDs and object_ids, sequence + 1. Lists are cumulative, so an
// endpoint only ever needs the newest one. Running it with nothing new re-issues the list with a
// fresh validity window.

import { checkReplaceable } from '../files/fsutil.js';
import { readArtefactFile } from '../files/artefact-file.js';
import { decodeEnvelope } from '../uzp/artefacts/envelope.js';
import { fromHex, toHex } from '../uzp/bytes.js';
import type { CryptoProvider } from '../uzp/crypto/provider.js';
import { DAY, openDomain, windowFrom } from './domain.js';
import { sign } from './issue.js';
import { updateState } from './state.js';
import { CommonCode, LocalError, naming } from '../lib/errors.js';

interface RevokeOptions {
  readonly dir: string;
  readonly cids: readonly string[];
  readonly objectIds: readonly string[];
  readonly artefacts: readonly string[];
  readonly days: number;
  readonly out: string;
  readonly nowMs: number;
}

interface RevokeResult {
  out: string;
  object_id: string;
  epoch: number;
  sequence: number;
  added_cids: string[];
  added_object_ids: string[];
  total_cids: number;
  total_object_ids: number;
  not_before: number;
  expires_at: number;
}

function hex32(s: string, flag: string): string {
  if (!/^[0-9a-f]{64}$/.test(s)) throw new LocalError(CommonCode.USAGE, `--${flag}: expected 64 lowercase hex characters, got ${JSON.stringify(s.slice(0, 20))}`);
  return s;
}

export function revoke(provider: CryptoProvider, o: RevokeOptions): RevokeResult {
  const newCids = [...new Set(o.cids.map((c) => hex32(c, 'cid')))];
  const newIds = [
    ...new Set([...o.objectIds.map((c) => hex32(c, 'object-id')), ...o.artefacts.map((f) => {
      const bytes = readArtefactFile(f);
      return toHex(naming(`--artefact ${f}`, () => decodeEnvelope(provider, bytes)).objectId);
    })]),
  ];
  checkReplaceable(o.out); // before any counter is taken: a refused --out consumes none
  const d = openDomain(provider, o.dir);
  const w = windowFrom(o.nowMs, o.days * DAY);
  const { prev, cids, ids, sequence, issued } = updateState(o.dir, (state) => {
    const prev = state.revocation;
    const cids = [...new Set([...prev.cids, ...newCids])].sort();
    const ids = [...new Set([...prev.ids, ...newIds])].sort();
    const sequence = prev.sequence + 1;
    const issued = sign(provider, d, { type: 'revocation', epoch: prev.epoch, sequence, ...w }, { cids: cids.map(fromHex), objectIds: ids.map(fromHex) });
    state.revocation = { epoch: prev.epoch, sequence, cids, ids };
    return { prev, cids, ids, sequence, issued };
  });
  issued.write(o.out);
  return {
    out: o.out,
    object_id: issued.objectId,
    epoch: prev.epoch,
    sequence,
    added_cids: newCids.filter((c) => !prev.cids.includes(c)),
    added_object_ids: newIds.filter((c) => !prev.ids.includes(c)),
    total_cids: cids.length,
    total_object_ids: ids.length,
    not_before: w.notBefore,
    expires_at: w.expiresAt,
  };
}
