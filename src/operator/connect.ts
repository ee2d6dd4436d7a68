// Operator side composition: from the operator's files to an open UZP session with a gateway.
// Local checks first (preflight.ts: key and PCert match, the Grant is valid and covers slot and
// mode), then outbound only: one RN link (an address from the RN Set Statement), Join + E2E handshake.

import { readArtefactFile } from '../files/artefact-file.js';
import { loadKeyFile } from '../files/keyfile.js';
import { loadTrustAnchor } from '../files/trust-anchor.js';
import { TrustStore } from '../uzp/artefacts/trust.js';
import type { CryptoProvider } from '../uzp/crypto/provider.js';
import { nodeProvider } from '../uzp/crypto/node.js';
import { Endpoint } from '../uzp/endpoint.js';
import { ErrorCode } from '../uzp/errors.js';
import { RnLink } from '../uzp/link/rn-link.js';
import type { Session } from '../uzp/session/session.js';
import { NonceStore } from '../attest/nonces.js';
import { attestationRequest } from '../attest/request.js';
import type { AppraisalResult } from '../attest/types.js';
import { appraiseOnSession, AttestationError, pushedEvidence, type AttestationRequirement } from './attest.js';
import { preflight } from './preflight.js';
import type { Mode } from '../hil/messages.js';
import type { Grant, Valid } from '../uzp/artefacts/types.js';
import { type CodedError, CommonCode, LocalError } from '../lib/errors.js';

interface OperatorFiles {
  readonly key: string;
  readonly pcert: string;
  readonly trust: string;
  readonly rnSet: string;
  readonly grant: string;
  readonly revocations?: string;
}

export interface OperatorConnection {
  readonly session: Session;
  readonly link: RnLink;
  /** The Grant this session runs under (validated locally before connecting). */
  readonly grant: Valid<Grant>;
  /** Present when the connection required attestation: the (passing) appraisal. */
  readonly appraisal?: AppraisalResult;
  close(): void;
}

interface ConnectOperatorOptions {
  readonly provider?: CryptoProvider;
  readonly suites?: number[];
  readonly signal?: AbortSignal;
  /**
   * Require a passing appraisal of the gateway before the connection is handed out (and so before
   * any slot is opened). The request rides in CH1's extension slot; the gateway pushes its evidence.
   */
  readonly attestation?: AttestationRequirement;
  /** The slot and mode about to be opened: checked against the Grant before any network. */
  readonly slot?: string;
  readonly mode?: Mode;
}

export async function connectOperator(
  files: OperatorFiles,
  gateway: Uint8Array,
  opts: ConnectOperatorOptions = {},
): Promise<OperatorConnection> {
  const provider = opts.provider ?? nodeProvider;
  const id = loadKeyFile(provider, files.key);
  const anchor = loadTrustAnchor(provider, files.trust);
  const trust = new TrustStore({ provider, rootPublicKey: anchor.rootPublicKey });
  const rnSet = trust.setRnSet(readArtefactFile(files.rnSet));
  if (files.revocations !== undefined) trust.setRevocation(readArtefactFile(files.revocations));
  const pcert = readArtefactFile(files.pcert);
  const grant = readArtefactFile(files.grant);
  const valid = preflight({
    provider,
    trust,
    cid: id.cid,
    pcert,
    grant,
    gateway,
    files,
    nowMs: Date.now(),
    ...(opts.slot !== undefined ? { slot: opts.slot } : {}),
    ...(opts.mode !== undefined ? { mode: opts.mode } : {}),
  });
  // Try every address of every listed RN in order (draft §11.1: any eligible RN of the set).
  const addresses = rnSet.body.rns.flatMap((r) => r.addresses);
  if (addresses.length === 0) throw new LocalError(CommonCode.CONFIG_INVALID, `${files.rnSet}: the RN Set Statement lists no address`);
  let last: CodedError | undefined;
  for (const address of addresses) {
    let link: RnLink;
    try {
      link = await RnLink.attach({ address, trust, identity: { seed: id.seed, pcert }, signal: opts.signal });
    } catch (e) {
      last = e as CodedError;
      continue;
    }
    try {
      const ep = new Endpoint({ trust, identity: { cid: id.cid, signer: id.signer, pcert }, link });
      const req = opts.attestation;
      const nonces = req?.nonces ?? (req !== undefined ? new NonceStore(provider) : undefined);
      const nonce = nonces?.issue();
      const session = await ep.connect(gateway, grant, { suites: opts.suites, signal: opts.signal, ...(nonce !== undefined ? { extensions: [attestationRequest(nonce)] } : {}) });
      const close = (): void => {
        session.close();
        setTimeout(() => link.close(), 200).unref();
      };
      if (req === undefined || nonce === undefined || nonces === undefined) return { session, link, grant: valid, close };
      let appraisal: AppraisalResult;
      try {
        appraisal = appraiseOnSession(provider, session, await pushedEvidence(session, req.timeoutMs), nonce, nonces, req);
      } catch (e) {
        close();
        throw e;
      }
      if (!appraisal.ok) {
        close();
        throw new AttestationError(appraisal);
      }
      return { session, link, grant: valid, appraisal, close };
    } catch (e) {
      link.close();
      throw e;
    }
  }
  throw last ?? new LocalError(ErrorCode.LINK_CLOSED, 'no RN reachable');
}
