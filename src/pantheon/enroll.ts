// `pantheon enroll`: issues a PCert binding a public key (given directly or by a verified
// enrollment request) to its CID and a role.

import { checkReplaceable } from '../files/fsutil.js';
import { loadEnrollRequest } from '../files/enroll-request.js';
import type { Role } from '../uzp/artefacts/types.js';
import { fromHex, toHex } from '../uzp/bytes.js';
import type { CryptoProvider } from '../uzp/crypto/provider.js';
import { cidOf } from '../uzp/identity/cid.js';
import { DAY, openDomain, windowFrom } from './domain.js';
import { sign } from './issue.js';
import { updateState } from './state.js';
import { CommonCode, LocalError } from '../lib/errors.js';

interface EnrollOptions {
  readonly dir: string;
  readonly publicHex?: string;
  readonly requestFile?: string;
  readonly role: Role;
  readonly name?: string;
  readonly days: number;
  readonly out: string;
  readonly nowMs: number;
}

interface EnrollResult {
  out: string;
  object_id: string;
  cid: string;
  public: string;
  role: Role;
  name?: string;
  not_before: number;
  expires_at: number;
}

export function enroll(provider: CryptoProvider, o: EnrollOptions): EnrollResult {
  if ((o.publicHex === undefined) === (o.requestFile === undefined)) throw new LocalError(CommonCode.USAGE, 'give exactly one of --public HEX or --request FILE');
  // Before the domain is read: a malformed key is a usage error whatever DIR holds.
  if (o.publicHex !== undefined && !/^[0-9a-f]{64}$/.test(o.publicHex)) throw new LocalError(CommonCode.USAGE, '--public: expected 64 lowercase hex characters (an Ed25519 public key)');
  checkReplaceable(o.out); // before any counter is taken: a refused --out consumes none
  const d = openDomain(provider, o.dir);
  let publicKey: Uint8Array;
  let name = o.name;
  if (o.requestFile !== undefined) {
    const req = loadEnrollRequest(provider, o.requestFile);
    if (req.role !== undefined && req.role !== o.role) {
      throw new LocalError(CommonCode.USAGE, `${o.requestFile} asks for role ${req.role} but --role is ${o.role}; re-run with --role ${req.role} or a new request`);
    }
    publicKey = req.publicKey;
    name ??= req.name;
  } else {
    publicKey = fromHex(o.publicHex!);
  }
  const cid = cidOf(provider, publicKey);
  const w = windowFrom(o.nowMs, o.days * DAY);
  const issued = sign(provider, d, { type: 'pcert', subject: cid, ...w }, { publicKey, role: o.role, ...(name !== undefined ? { name } : {}) });
  // Remember the role, so a later `pantheon grant` can refuse a Grant to or for the wrong role.
  updateState(o.dir, (state) => {
    state.members[toHex(cid)] = o.role;
  });
  issued.write(o.out);
  return {
    out: o.out,
    object_id: issued.objectId,
    cid: toHex(cid),
    public: toHex(publicKey),
    role: o.role,
    ...(name !== undefined ? { name } : {}),
    not_before: w.notBefore,
    expires_at: w.expiresAt,
  };
}
