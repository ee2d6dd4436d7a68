// `uzpgw keygen`: creates an Ed25519 identity key file (mode 0600) and optionally an enrollment
// request to hand to the domain admin (`uzpgw pantheon enroll --request FILE`). Both or neither:
// when the request cannot be written, the key written for it is removed again.

import { lstatSync, unlinkSync, type Stats } from 'node:fs';
import { resolve } from 'node:path';
import { createEnrollRequest, writeEnrollRequest } from '../files/enroll-request.js';
import { writeKeyFile } from '../files/keyfile.js';
import { renderHuman } from '../pantheon/render.js';
import { jsonLine } from '../lib/terminal-text.js';
import { ROLES } from '../uzp/artefacts/pcert.js';
import { MAX_TEXT } from '../uzp/artefacts/constants.js';
import { toHex } from '../uzp/bytes.js';
import { nodeProvider } from '../uzp/crypto/node.js';
import { generateIdentity } from '../uzp/identity/identity.js';
import { defineCommand } from './define.js';
import { usageError } from './flags.js';
import { isCodedError, LocalError } from '../lib/errors.js';

/** Removes the key file this run wrote, if it is still that file (same inode); says what became of it. */
function removeWrittenKey(keyFile: string, written: Stats): string {
  try {
    const now = lstatSync(keyFile);
    if (now.dev !== written.dev || now.ino !== written.ino) return `${keyFile} is no longer the key this run wrote: left as it is`;
    unlinkSync(keyFile);
    return `the key ${keyFile} made for it was removed: run keygen again once the request can be written`;
  } catch (r) {
    return `the key ${keyFile} made for it could not be removed (${(r as NodeJS.ErrnoException).code ?? String(r)}): remove it before running keygen again`;
  }
}

function requestFailed(e: unknown, keyFile: string, written: Stats): unknown {
  const kept = removeWrittenKey(keyFile, written);
  return isCodedError(e) ? new LocalError(e.code, `enrollment request not written: ${e.message}; ${kept}`, { cause: e }) : e;
}

export const command = defineCommand({
  name: 'keygen',
  summary: 'create an identity key file (and an enrollment request)',
  description: 'Generates a new Ed25519 identity, writes its key file and prints its CID and public key. --name and --role go into the enrollment request, so they need --request. With --request it writes both or neither: when the request cannot be written, the new key is removed again (an existing key file is never touched: keygen refuses it first).',
  flags: {
    out: { type: 'string', placeholder: 'FILE', required: true, describe: 'key file to create (mode 0600; never overwritten)' },
    request: { type: 'string', placeholder: 'FILE', describe: 'also write an enrollment request for Pantheon' },
    name: { type: 'string', placeholder: 'N', describe: 'name to put in the enrollment request' },
    role: { type: 'string', placeholder: 'R', choices: ROLES, describe: 'role to ask for in the request' },
  },
  json: 'one JSON object: {key_file, cid, public, request?}',
  run({ flags }, io) {
    const { out, request: requestFile, name, role } = flags;
    if (requestFile === undefined && (name !== undefined || role !== undefined)) throw usageError('--name and --role belong to --request');
    if (name !== undefined && (name.length === 0 || name.length > MAX_TEXT)) throw usageError(`--name: 1..${MAX_TEXT} characters`);
    if (requestFile !== undefined && resolve(requestFile) === resolve(out)) throw usageError('--request and --out name the same file: the request goes beside the key, not over it');
    const id = generateIdentity(nodeProvider);
    const request = requestFile !== undefined ? createEnrollRequest(id, { ...(name !== undefined ? { name } : {}), ...(role !== undefined ? { role } : {}) }) : undefined;
    writeKeyFile(out, id);
    const result: Record<string, unknown> = { key_file: out, cid: toHex(id.cid), public: toHex(id.publicKey) };
    if (requestFile !== undefined && request !== undefined) {
      // Key and request are one result: a key left without its request made the retry fail on the
      // key that exists (and the user hold a key nobody can enroll). Only the key just written goes.
      const written = lstatSync(out);
      try {
        writeEnrollRequest(requestFile, request);
      } catch (e) {
        throw requestFailed(e, out, written);
      }
      result.request = requestFile;
    }
    io.stdout.write(flags.json ? jsonLine(result) : renderHuman(`created identity ${toHex(id.cid)}`, result));
    return 0;
  },
});
