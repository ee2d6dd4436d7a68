// What the publisher's tests share: a Discovery Grant the gateway of a publishPair() issued to its
// collector, and Publisher options under it with nothing revoked and no revocation pending, receipts
// checked for real (receipt-check.ts), the session source, log, logger and clock the test's own.
// The log is told its collector is the only one, by its key (createGateway tells it all of them).

import type { Logger } from 'pino';
import { AuditLog } from '../../src/gateway/hil/audit.js';
import { issueDiscoveryGrant } from '../../src/gateway/publisher/issue.js';
import type { PublisherOptions } from '../../src/gateway/publisher/publisher.js';
import { receiptChecker } from '../../src/gateway/publisher/receipt-check.js';
import type { ReadingLog } from '../../src/gateway/reading-log/reading-log.js';
import { systemClock, type Clock } from '../../src/lib/clock.js';
import type { DiscoveryGrantBody } from '../../src/uzp/artefacts/discovery-grant.js';
import { openArtefact } from '../../src/uzp/artefacts/open.js';
import { toHex } from '../../src/uzp/bytes.js';
import type { publishPair } from './publish-pair.js';

type Pair = ReturnType<typeof publishPair>;

/** The Discovery Grant (its bytes, and as opened) of `p`'s gateway to its collector, valid a day. */
export function discoveryGrantOf(p: Pair, body: DiscoveryGrantBody) {
  const dg = issueDiscoveryGrant(p.d.provider, p.gw.id.signer, { collector: p.col.id.cid, body, nowMs: p.d.clock(), validS: 86_400 });
  return { dg, grant: openArtefact(p.d.provider, dg, 'discovery-grant') };
}

export function publisherOptions(
  p: Pair,
  o: { readonly dg: Uint8Array; readonly grant: ReturnType<typeof discoveryGrantOf>['grant']; readonly log: ReadingLog; readonly connect: PublisherOptions['connect']; readonly logger: Logger; readonly clock?: Clock },
): PublisherOptions {
  o.log.setAudience(() => [toHex(p.col.id.cid)]);
  return {
    collector: p.col.id.cid,
    connect: o.connect,
    log: o.log,
    consent: () => ({ grant: o.grant as never, revokedSlots: new Set(), revoked: false }),
    announce: () => ({ t: 'announce', action: 'new', board: 'virtual', catalogue: [], grant: o.dg, dropped: {}, digests: { catalogue: new Uint8Array(32) } }),
    checkReceipt: receiptChecker(p.d.provider, p.gw.id.cid, o.grant.objectId),
    pendingRevocations: () => [],
    confirmed: () => undefined,
    inForce: () => undefined,
    audit: new AuditLog(o.logger),
    logger: o.logger,
    clock: o.clock ?? systemClock,
  };
}
