// Operator side composition: from the operator's files to an open UZP session with a gateway.
// Local checks first (preflight.ts: key and PCert match, the Grant is valid and covers slot and
// mode), then outbound only: links to two RNs of the RN Set Statement (warm standby, draft §11.1),
// Join + E2E handshake with continuity, so the session rides through the loss of an RN (§11.3).

import { readArtefactFile } from '../files/artefact-file.js';
import { loadKeyFile } from '../files/keyfile.js';
import { loadTrustAnchor } from '../files/trust-anchor.js';
import { TrustStore } from '../uzp/artefacts/trust.js';
import type { CryptoProvider } from '../uzp/crypto/provider.js';
import { nodeProvider } from '../uzp/crypto/node.js';
import { Endpoint } from '../uzp/endpoint.js';
import { ErrorCode } from '../uzp/errors.js';
import { LinkPool } from '../uzp/link/link-pool.js';
import type { Session } from '../uzp/session/session.js';
import { NonceStore } from '../attest/nonces.js';
import { attestationRequest } from '../attest/request.js';
import type { AppraisalResult } from '../attest/types.js';
import { appraiseOnSession, AttestationError, pushedEvidence, type AttestationRequirement } from './attest.js';
import { preflight } from './preflight.js';
import { logPors } from './por-log.js';
import type { Mode } from '../hil/messages.js';
import type { Grant, Valid } from '../uzp/artefacts/types.js';
import { type CodedError, CommonCode, isCodedError, LocalError, naming } from '../lib/errors.js';

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
  /** The RN links (warm standby); the session re-stitches through them. */
  readonly links: LinkPool;
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
  /** How long a session that lost its RN waits to be re-stitched before it ends (default 30 s). */
  readonly maxWaitMs?: number;
  /** How long to wait for the first RN attachment (default 10 s). */
  readonly attachTimeoutMs?: number;
  /** Keep every accepted PoR as a por-evidence artefact in this file (por-log.ts). */
  readonly porLog?: { readonly file: string; readonly onError: (e: Error) => void };
}

const DEFAULT_FIRST_ATTACH_MS = 10_000;

export async function connectOperator(
  files: OperatorFiles,
  gateway: Uint8Array,
  opts: ConnectOperatorOptions = {},
): Promise<OperatorConnection> {
  const provider = opts.provider ?? nodeProvider;
  // Each file read names its flag and file (README "Exit status"): a directory or a missing file
  // given as --grant said only "DIR: not a regular file", whichever of five files it was.
  const id = naming(`--key ${files.key}`, () => loadKeyFile(provider, files.key));
  const anchor = naming(`--trust ${files.trust}`, () => loadTrustAnchor(provider, files.trust));
  const trust = new TrustStore({ provider, rootPublicKey: anchor.rootPublicKey });
  const rnSet = naming(`--rn-set ${files.rnSet}`, () => trust.setRnSet(readArtefactFile(files.rnSet)));
  const revocations = files.revocations;
  if (revocations !== undefined) naming(`--revocations ${revocations}`, () => trust.setRevocation(readArtefactFile(revocations)));
  const pcert = naming(`--pcert ${files.pcert}`, () => readArtefactFile(files.pcert));
  const grant = naming(`--grant ${files.grant}`, () => readArtefactFile(files.grant));
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
  const addresses = rnSet.body.rns.flatMap((r) => r.addresses);
  if (addresses.length === 0) throw new LocalError(CommonCode.CONFIG_INVALID, `${files.rnSet}: the RN Set Statement lists no address`);
  // Attach to two RNs of the set (any eligible ones, draft §11.1); the session starts on the first.
  const links = new LinkPool({ trust, identity: { seed: id.seed, pcert }, backoffBaseMs: 100, backoffCapMs: 2_000 });
  let lastDown: CodedError | undefined;
  links.on('link-down', (e) => (lastDown = e));
  links.start();
  const attachTimeout = AbortSignal.timeout(opts.attachTimeoutMs ?? DEFAULT_FIRST_ATTACH_MS);
  const first = opts.signal === undefined ? attachTimeout : AbortSignal.any([attachTimeout, opts.signal]);
  // No wait for the attachment: the first JOIN goes out right behind AUTH (LinkPool.join on the
  // links still attaching), a round trip earlier; joinGateway waits for an attachment only if that fails.
  {
    try {
      const ep = new Endpoint({
        trust,
        identity: { cid: id.cid, signer: id.signer, pcert },
        link: links,
        continuity: { trust, ...(opts.maxWaitMs !== undefined ? { windowMs: opts.maxWaitMs } : {}) },
      });
      const req = opts.attestation;
      const nonces = req?.nonces ?? (req !== undefined ? new NonceStore(provider) : undefined);
      const nonce = nonces?.issue();
      const session: Session = await joinGateway(() => ep.connect(gateway, grant, { suites: opts.suites, signal: opts.signal, ...(nonce !== undefined ? { extensions: [attestationRequest(nonce)] } : {}) }), links, first, () => lastDown);
      if (opts.porLog !== undefined) logPors(opts.porLog.file, provider, id.signer, session, opts.porLog.onError);
      const close = (): void => {
        session.close();
        setTimeout(() => links.stop(), 200).unref();
      };
      if (req === undefined || nonce === undefined || nonces === undefined) return { session, links, grant: valid, close };
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
      return { session, links, grant: valid, appraisal, close };
    } catch (e) {
      links.stop();
      throw e;
    }
  }
}

/** Between tries while no attached RN holds the gateway yet (its standby link may still be coming up). */
const PEER_RETRY_MS = 250;

/**
 * The first JOIN: an RN that does not hold the gateway is not the end (the pool already tried
 * every attached RN); the gateway or our second link may attach within the first-attach window.
 * Nor is a JOIN that went behind an AUTH that failed: it is made again once a link is attached.
 * Exported for its tests.
 */
export async function joinGateway(connect: () => Promise<Session>, links: Pick<LinkPool, 'link' | 'ready'>, window: AbortSignal, lastDown: () => CodedError | undefined): Promise<Session> {
  for (;;) {
    try {
      return await connect();
    } catch (e) {
      if (links.link === null) {
        // The JOIN went behind an AUTH that did not attach (that RN unreachable or refusing us): the
        // managers go on with the other RNs of the set; join again once one is attached (ready()
        // rejects at once when the window has ended).
        try {
          await links.ready(window);
        } catch {
          throw lastDown() ?? new LocalError(ErrorCode.LINK_CLOSED, 'no RN of the RN Set Statement reachable', { cause: e });
        }
        continue;
      }
      if (window.aborted || !isCodedError(e) || e.code !== ErrorCode.PEER_NOT_ATTACHED) throw e;
    }
    await new Promise((r) => setTimeout(r, PEER_RETRY_MS));
  }
}
