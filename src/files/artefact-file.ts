// Artefact files hold the raw envelope bytes (binary, exactly what goes on the wire).

import { MAX_ENVELOPE_BYTES } from '../uzp/artefacts/constants.js';
import { readFileCapped, writeFileAtomic } from './fsutil.js';

/** Reads an artefact file, refusing files over the 64 KiB envelope bound before reading them whole. */
export function readArtefactFile(file: string, maxBytes = MAX_ENVELOPE_BYTES): Uint8Array {
  // readFileCapped says "expected a WHAT" and "too large for a WHAT": not "a artefact".
  return readFileCapped(file, maxBytes, 'UZP artefact').bytes;
}

/** Writes an artefact atomically (mode 0644: artefacts are signed public statements). Replaces by default. */
export function writeArtefactFile(file: string, bytes: Uint8Array, opts: { overwrite?: boolean } = {}): void {
  writeFileAtomic(file, bytes, { mode: 0o644, overwrite: opts.overwrite ?? true });
}
