// A throwaway UZP trust domain for the benches (the idea of test/helpers/domain.ts, built on dist/):
// a root key, member identities with PCerts, Grants and an RN Set Statement, all issued with
// signArtefact (which decodes each artefact again, so nothing invalid is ever handed out), plus
// the files `uzpgw rn` needs. Peer processes get plain JSON (hex) over IPC and rebuild from it.

import { join } from 'node:path';
import { signArtefact } from '../../dist/uzp/artefacts/sign.js';
import { TrustStore } from '../../dist/uzp/artefacts/trust.js';
import { fromHex, toHex } from '../../dist/uzp/bytes.js';
import { nodeProvider } from '../../dist/uzp/crypto/node.js';
import { writeKeyFile } from '../../dist/files/keyfile.js';
import { writeTrustAnchor } from '../../dist/files/trust-anchor.js';
import { generateIdentity, identityFromSeed } from '../../dist/uzp/identity/identity.js';

const provider = nodeProvider;
const DAY = 86_400;

export class BenchDomain {
  constructor() {
    this.root = generateIdentity(provider);
    this.grantNonce = 0;
    this.rnSetSeq = 0;
  }

  get now() {
    return Math.floor(Date.now() / 1000);
  }

  /** A new identity with a PCert of `role`, as JSON-safe hex. */
  member(role) {
    const id = generateIdentity(provider);
    const now = this.now;
    const pcert = signArtefact(provider, this.root.signer, { type: 'pcert', subject: id.cid, issuedAt: now, notBefore: now - 60, expiresAt: now + DAY }, { publicKey: id.publicKey, role });
    return { seed: toHex(id.seed), cid: toHex(id.cid), pcert: toHex(pcert), identity: id };
  }

  /**
   * A Grant for `subject` (initiator CID) to open sessions to `audience` (responder CID).
   * `purposes` / `scope` default to the serial purposes on slot 'bench' the UZP benches use.
   */
  grant(subjectHex, audienceHex, { purposes = [{ purpose: 'serial.read' }, { purpose: 'serial.write' }], scope = { slot: 'bench' }, earlyData = false } = {}) {
    const now = this.now;
    const bytes = signArtefact(
      provider,
      this.root.signer,
      { type: 'grant', subject: fromHex(subjectHex), audience: fromHex(audienceHex), issuedAt: now, notBefore: now - 60, expiresAt: now + DAY },
      // Grant model of issue #10: one scope per slot, each with its purposes.
      // draft §9: early data (0-RTT) and no-replay exclude each other; no-replay unless early data is asked for.
      { scopes: [{ ...scope, purposes }], nonce: ++this.grantNonce, earlyData, noReplay: !earlyData },
    );
    return toHex(bytes);
  }

  /** RN Set Statement listing the RN identity at `address`. */
  rnSet(rn, address) {
    const now = this.now;
    const bytes = signArtefact(
      provider,
      this.root.signer,
      { type: 'rn-set', issuedAt: now, notBefore: now - 60, expiresAt: now + DAY, epoch: 1, sequence: ++this.rnSetSeq },
      { scope: 'bench', rns: [{ cid: rn.identity.cid, publicKey: rn.identity.publicKey, addresses: [address], roles: ['relay'] }] },
    );
    return toHex(bytes);
  }

  /** Writes trust.json and rn.key (mode 0600) into `dir` for `uzpgw rn`; returns their paths. */
  /** RN Set Statement listing several RNs: `[{ rn, address }]` (the fabric bench). */
  rnSetOf(entries) {
    const now = this.now;
    const rns = entries.map(({ rn, address }) => ({ cid: rn.identity.cid, publicKey: rn.identity.publicKey, addresses: [address], roles: ['relay'] }));
    return toHex(signArtefact(provider, this.root.signer, { type: 'rn-set', issuedAt: now, notBefore: now - 60, expiresAt: now + DAY, epoch: 1, sequence: ++this.rnSetSeq }, { scope: 'bench', rns }));
  }

  writeRnFiles(dir, rn) {
    const trust = join(dir, 'trust.json');
    const key = join(dir, 'rn.key');
    writeTrustAnchor(trust, { domain: 'bench', rootPublicKey: this.root.publicKey, rootCid: this.root.cid });
    writeKeyFile(key, rn.identity);
    return { trust, key };
  }

  /** What a peer process needs to build its TrustStore. */
  get rootPublicHex() {
    return toHex(this.root.publicKey);
  }
}

// ---- peer side: rebuild from JSON ----

/** TrustStore on the real clock with the RN Set Statement installed. */
export function peerTrust(rootPublicHex, rnSetHex) {
  const trust = new TrustStore({ provider, rootPublicKey: fromHex(rootPublicHex) });
  if (rnSetHex) trust.setRnSet(fromHex(rnSetHex));
  return trust;
}

/** { seed, pcert, cid, signer } from a member() record. */
export function peerIdentity(m) {
  const id = identityFromSeed(provider, fromHex(m.seed));
  return { seed: id.seed, cid: id.cid, signer: id.signer, pcert: fromHex(m.pcert) };
}

export { provider, fromHex, toHex };
