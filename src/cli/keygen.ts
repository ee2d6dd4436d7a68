// `uzpgw keygen`: creates an Ed25519 identity key file (mode 0600) and optionally an enrollment
// request to hand to the domain admin (`uzpgw pantheon enroll --request FILE`).

import { createEnrollRequest, writeEnrollRequest } from '../files/enroll-request.js';
import { writeKeyFile } from '../files/keyfile.js';
import { renderHuman } from '../pantheon/render.js';
import { ROLES } from '../uzp/artefacts/pcert.js';
import { MAX_TEXT } from '../uzp/artefacts/constants.js';
import { toHex } from '../uzp/bytes.js';
import { nodeProvider } from '../uzp/crypto/node.js';
import { generateIdentity } from '../uzp/identity/identity.js';
import { defineCommand } from './define.js';
import { usageError } from './flags.js';

export const command = defineCommand({
  name: 'keygen',
  summary: 'create an identity key file (and an enrollment request)',
  description: 'Generates a new Ed25519 identity, writes its key file and prints its CID and public key. --name and --role go into the enrollment request, so they need --request.',
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
    const id = generateIdentity(nodeProvider);
    writeKeyFile(out, id);
    const result: Record<string, unknown> = { key_file: out, cid: toHex(id.cid), public: toHex(id.publicKey) };
    if (requestFile !== undefined) {
      writeEnrollRequest(requestFile, createEnrollRequest(id, { ...(name !== undefined ? { name } : {}), ...(role !== undefined ? { role } : {}) }));
      result.request = requestFile;
    }
    io.stdout.write(flags.json ? JSON.stringify(result) + '\n' : renderHuman(`created identity ${toHex(id.cid)}`, result));
    return 0;
  },
});
