// `uzpgw keygen`: creates an Ed25519 identity key file (mode 0600) and optionally an enrollment
// request to hand to the domain admin (`uzpgw pantheon enroll --request FILE`).

import { createEnrollRequest, writeEnrollRequest } from '../files/enroll-request.js';
import { writeKeyFile } from '../files/keyfile.js';
import { renderHuman } from '../pantheon/render.js';
import { isRole } from '../uzp/artefacts/pcert.js';
import { MAX_TEXT } from '../uzp/artefacts/constants.js';
import { toHex } from '../uzp/bytes.js';
import { nodeProvider } from '../uzp/crypto/node.js';
import { generateIdentity } from '../uzp/identity/identity.js';
import { bool, helpText, parseArgs, requireStr, str, usageError, type FlagSpecs } from './args.js';
import type { Command } from './command.js';

const FLAGS: FlagSpecs = {
  out: { type: 'string', describe: 'key file to create (mode 0600; never overwritten)', placeholder: 'FILE' },
  request: { type: 'string', describe: 'also write an enrollment request for Pantheon', placeholder: 'FILE' },
  name: { type: 'string', describe: 'name to put in the enrollment request', placeholder: 'N' },
  role: { type: 'string', describe: 'role to ask for in the request: gateway, operator or rn', placeholder: 'R' },
  json: { type: 'boolean', describe: 'print the result as one JSON object' },
};
const USAGE = 'uzpgw keygen --out FILE [--request FILE --name N --role R] [--json]';
const DESCRIPTION = 'Generates a new Ed25519 identity, writes its key file and prints its CID and public key.';

export const command: Command = {
  summary: 'create an identity key file (and an enrollment request)',
  async run(argv, io) {
    if (argv.includes('--help') || argv.includes('-h')) {
      io.stdout.write(helpText(USAGE, DESCRIPTION, FLAGS));
      return 0;
    }
    const p = parseArgs(argv, FLAGS);
    if (p.positionals.length > 0) throw usageError(`unexpected argument ${JSON.stringify(p.positionals[0])}`);
    const out = requireStr(p, 'out');
    const requestFile = str(p, 'request');
    const name = str(p, 'name');
    const role = str(p, 'role');
    if (requestFile === undefined && (name !== undefined || role !== undefined)) throw usageError('--name and --role belong to --request');
    if (role !== undefined && !isRole(role)) throw usageError(`--role: expected gateway, operator or rn, got ${JSON.stringify(role)}`);
    if (name !== undefined && (name.length === 0 || name.length > MAX_TEXT)) throw usageError(`--name: 1..${MAX_TEXT} characters`);
    const id = generateIdentity(nodeProvider);
    writeKeyFile(out, id);
    const result: Record<string, unknown> = { key_file: out, cid: toHex(id.cid), public: toHex(id.publicKey) };
    if (requestFile !== undefined) {
      writeEnrollRequest(requestFile, createEnrollRequest(id, { ...(name !== undefined ? { name } : {}), ...(role !== undefined && isRole(role) ? { role } : {}) }));
      result.request = requestFile;
    }
    io.stdout.write(bool(p, 'json') ? JSON.stringify(result) + '\n' : renderHuman(`created identity ${toHex(id.cid)}`, result));
    return 0;
  },
};
