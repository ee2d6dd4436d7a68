// Recovery links (src/gateway/artefact-recovery.ts) bind addresses to RN keys as the LinkManager's
// links do: dialling an address of the expired RN Set Statement, the gateway takes only the RN the
// statement lists there (ATTACH_RN_MISMATCH). Before, any RN of the statement answering at the
// address was attached, and the artefacts it offered were taken. Real RNs on 127.0.0.1, the
// recovery driven by a stand-in for the LinkManager's 'down' event.

import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { ArtefactRecovery } from '../../src/gateway/artefact-recovery.js';
import { RnArtefacts } from '../../src/rn/artefacts.js';
import { silentLog } from '../../src/rn/log.js';
import { RendezvousNode } from '../../src/rn/server.js';
import { DEFAULT_SKEW_SECONDS } from '../../src/uzp/artefacts/constants.js';
import { ErrorCode, ValidationError } from '../../src/uzp/errors.js';
import type { Identity } from '../../src/uzp/identity/identity.js';
import { TestDomain } from '../helpers/domain.js';
import { until } from '../uzp/link/wait.js';

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** An RN of `d` on 127.0.0.1 whose shelf holds `rnSet` (offered on every attachment). */
async function rnOffering(d: TestDomain, id: Identity, rnSet: Uint8Array): Promise<string> {
  const trust = d.trust();
  const artefacts = new RnArtefacts({ trust, log: silentLog });
  expect(artefacts.offer('rn-set', rnSet).outcome).toBe('adopted');
  const rn = new RendezvousNode({ trust, seed: id.seed, artefacts });
  const address = await rn.listen('127.0.0.1', 0);
  cleanups.push(() => rn.close());
  return address;
}

/** The logger the recovery takes (a pino Logger's info and debug). */
type RecoveryLog = ConstructorParameters<typeof ArtefactRecovery>[0]['log'];

interface Run {
  readonly recovery: ArtefactRecovery;
  readonly failures: Record<string, unknown>[];
  readonly taken: Uint8Array[];
}

/**
 * A gateway trust store whose statement lists `listed` at `address` and `other` at a dead address,
 * expired since; recovery started as the LinkManager reports RNSET_NOT_ELIGIBLE. The address of
 * `listed` comes first, so it is the one dialled.
 */
function recover(d: TestDomain, listed: Identity, other: Identity, address: string): Run {
  const trust = d.trust();
  trust.setRnSet(d.rnSet([{ id: listed, addresses: [address] }, { id: other, addresses: ['127.0.0.1:9'] }], { validSeconds: 60 }));
  d.advance(60 + DEFAULT_SKEW_SECONDS + 1);
  const gw = d.member('gateway');
  const failures: Record<string, unknown>[] = [];
  const taken: Uint8Array[] = [];
  const links = new EventEmitter();
  const recovery = new ArtefactRecovery({
    trust,
    identity: { seed: gw.id.seed, pcert: gw.pcert },
    links,
    log: {
      info: () => {},
      debug: (o: Record<string, unknown>) => void (o.event === 'artefact.recovery_failed' && failures.push(o)),
    } as unknown as RecoveryLog,
    onArtefact: (b) => taken.push(b),
  });
  recovery.start();
  cleanups.push(() => recovery.stop());
  links.emit('down', new ValidationError(ErrorCode.RNSET_NOT_ELIGIBLE, 'no RN Set Statement with a reachable RN is loaded'));
  return { recovery, failures, taken };
}

describe('artefact recovery: the RN at an address must be the one listed there', () => {
  it("another RN of the statement answering at the listed RN's address: refused (ATTACH_RN_MISMATCH), its artefacts not taken", async () => {
    const d = new TestDomain();
    const a = d.member('rn').id;
    const b = d.member('rn').id;
    const atA = await rnOffering(d, b, d.rnSet([{ id: b, addresses: ['127.0.0.1:9'] }], { validSeconds: 86_400 * 30 })); // A's address, B answers
    const r = recover(d, a, b, atA);
    // Before: B was attached for recovery and its statement handed on.
    await until(() => r.failures.length > 0 || r.recovery.attached || r.taken.length > 0, 'recovery attempt');
    expect(r.recovery.attached).toBe(false);
    expect(r.taken).toEqual([]);
    expect(r.failures[0]).toMatchObject({ rn: atA, code: ErrorCode.ATTACH_RN_MISMATCH });
    expect(String(r.failures[0]!.reason)).toContain(atA);
  });

  it('the listed RN answering there: attached for recovery, its artefacts taken', async () => {
    const d = new TestDomain();
    const a = d.member('rn').id;
    const b = d.member('rn').id;
    const atA = await rnOffering(d, a, d.rnSet([{ id: a, addresses: ['127.0.0.1:9'] }], { validSeconds: 86_400 * 30 }));
    const r = recover(d, a, b, atA);
    await until(() => r.failures.length > 0 || r.taken.length > 0, 'recovery attempt');
    expect(r.failures).toEqual([]);
    expect(r.recovery.attached).toBe(true);
    expect(r.taken).toHaveLength(1);
  });
});
