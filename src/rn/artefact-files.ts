// `uzpgw rn --rn-set FILE --revocations FILE`: the files behind the RN's artefacts, re-read on
// SIGHUP and whenever one is replaced (src/files/watch.ts). Each is offered through the shelf
// (./artefacts.ts), so a newer valid one is adopted and offered to every attached endpoint at once;
// an older, conflicting or bad file is logged and the held artefact stays in force (a bad file must
// never drop revocations already applied). A newer revocation list also closes the links it revokes.

import { readArtefactFile } from '../files/artefact-file.js';
import { watchFiles } from '../files/watch.js';
import { isCodedError } from '../lib/errors.js';
import type { RnArtefacts } from './artefacts.js';
import type { RnLog } from './log.js';

export interface RnArtefactFiles {
  readonly rnSet?: string;
  readonly revocations?: string;
}

interface ReloadParts {
  readonly shelf: RnArtefacts;
  readonly log: RnLog;
  /** Closes links revoked by the list now held (RendezvousNode.revalidate); returns how many. */
  revalidate(): number;
  /** After a newer RN Set Statement: warns when this RN is not listed in it. */
  checkListed(): void;
}

function failed(log: RnLog, event: string, file: string, e: unknown, what: string): void {
  if (!isCodedError(e)) throw e;
  // Keep what we hold: a bad or stale file must not drop artefacts already in force.
  log.warn({ event, file, code: e.code, detail: e.message }, `${what} reload failed; keeping the current one`);
}

function reloadRevocations(file: string, p: ReloadParts): void {
  try {
    const a = p.shelf.offer('revocation', readArtefactFile(file));
    if (a.outcome === 'refused') return failed(p.log, 'revocations_reload_failed', file, a.error, 'revocation list');
    const closed = p.revalidate();
    p.log.info({ event: 'revocations_reloaded', outcome: a.outcome, sequence: a.artefact.sequence, epoch: a.artefact.epoch, closed }, 'revocation list reloaded');
  } catch (e) {
    failed(p.log, 'revocations_reload_failed', file, e, 'revocation list');
  }
}

function reloadRnSet(file: string, p: ReloadParts): void {
  try {
    const a = p.shelf.offer('rn-set', readArtefactFile(file));
    if (a.outcome === 'refused') return failed(p.log, 'rn_set_reload_failed', file, a.error, 'RN Set Statement');
    p.log.info({ event: 'rn_set_reloaded', outcome: a.outcome, sequence: a.artefact.sequence, epoch: a.artefact.epoch, expires_at: a.artefact.expiresAt }, 'RN Set Statement reloaded');
    if (a.outcome === 'adopted') p.checkListed();
  } catch (e) {
    failed(p.log, 'rn_set_reload_failed', file, e, 'RN Set Statement');
  }
}

/** SIGHUP: re-reads every configured file. */
export function reloadArtefactFiles(files: RnArtefactFiles, p: ReloadParts): void {
  if (files.revocations === undefined && files.rnSet === undefined) {
    p.log.info({ event: 'sighup' }, 'SIGHUP: no --revocations or --rn-set file to reload');
    return;
  }
  if (files.revocations !== undefined) reloadRevocations(files.revocations, p);
  if (files.rnSet !== undefined) reloadRnSet(files.rnSet, p);
}

/** Re-reads a file when it is replaced or changed; returns the function that stops watching. */
export function watchArtefactFiles(files: RnArtefactFiles, p: ReloadParts): () => void {
  const list = [files.revocations, files.rnSet].filter((f): f is string => f !== undefined);
  if (list.length === 0) return () => {};
  return watchFiles(
    list,
    (file) => (file === files.revocations ? reloadRevocations(file, p) : reloadRnSet(file, p)),
    { onError: (dir, e) => p.log.warn({ event: 'watch_failed', dir, detail: e.message }, 'cannot watch the artefact files here; SIGHUP still reloads them') },
  );
}
