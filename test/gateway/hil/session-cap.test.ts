// The per-operator session cap (src/gateway/hil/session-cap.ts) through the HIL broker, over real
// session pairs: an operator with a valid Grant opened 100 sessions of 64 log tails each and
// stopped reading, and the gateway grew from 83 to 376 MiB, bounded only by the RN's 128 stitches
// per initiator (found by the operator review, e7-memory.mjs). Now the session beyond the cap is
// answered TOO_MANY_SESSIONS on its first channel and closed; other operators are not affected.

import { afterEach, describe, expect, it } from 'vitest';
import { HilBroker } from '../../../src/gateway/hil/broker.js';
import { DEFAULT_SESSIONS_PER_OPERATOR, TURN_AWAY_MS } from '../../../src/gateway/hil/session-cap.js';
import { decodeHil, encodeHil, type HilMessage } from '../../../src/hil/messages.js';
import { toHex } from '../../../src/uzp/bytes.js';
import type { Channel } from '../../../src/uzp/session/channel.js';
import type { Session } from '../../../src/uzp/session/session.js';
import { TestDomain, type Member } from '../../helpers/domain.js';
import { turns } from '../../helpers/fake-clock.js';
import { sessionPair } from '../../helpers/session-pair.js';
import { fakeClockBroker } from './fake-clock-broker.js';

const d = new TestDomain();
const gw = d.member('gateway');

let open: Session[] = [];
afterEach(() => {
  for (const s of open) s.close();
  open = [];
});

/** One stitched session pair of `op` to the gateway, served by `b` as the gateway's endpoint would. */
function session(b: HilBroker, op: Member, attestNonce?: Uint8Array): { operator: Session; gateway: Session } {
  const { operator, gateway, grant } = sessionPair({ domain: d, op, gw, purposes: [{ purpose: 'modbus.read' }], slot: 'rs485-1' });
  b.serve(gateway, grant, d.clock);
  if (attestNonce !== undefined) b.pushEvidence(gateway, attestNonce);
  open.push(operator);
  return { operator, gateway };
}

/** The first message on `ch`. */
function first(ch: Channel): Promise<HilMessage> {
  return new Promise((resolve) => ch.once('message', (b: Uint8Array) => resolve(decodeHil(b))));
}

/** Opens rs485-1 in modbus mode on a new channel: the gateway's answer. */
async function openSlot(s: Session): Promise<HilMessage> {
  const ch = s.openChannel();
  const reply = first(ch);
  ch.trySend(encodeHil({ t: 'open', slot: 'rs485-1', mode: 'modbus' }));
  return reply;
}

const closed = (s: Session): Promise<void> => new Promise((r) => (s.state === 'closed' ? r() : s.once('close', () => r())));

describe('sessions per operator at the gateway', () => {
  it('the cap refuses the N+1th session of one operator, while another operator still connects and the operator gets its place back when one of its sessions ends', async () => {
    const { b, audit } = fakeClockBroker({ sessionsPerOperator: 2 });
    const alice = d.member('operator');
    const bob = d.member('operator');
    const a1 = session(b, alice);
    const a2 = session(b, alice);
    expect(await openSlot(a1.operator)).toMatchObject({ t: 'opened', slot: 'rs485-1' });
    expect(await openSlot(a2.operator)).toMatchObject({ t: 'opened', slot: 'rs485-1' });

    const a3 = session(b, alice);
    expect(await openSlot(a3.operator)).toEqual({ t: 'refused', code: 'TOO_MANY_SESSIONS' });
    await closed(a3.operator); // the gateway closes it after the refusal
    expect(b.stats.sessions).toBe(2);

    const b1 = session(b, bob);
    expect(await openSlot(b1.operator)).toMatchObject({ t: 'opened', slot: 'rs485-1' });
    expect(b.stats.sessions).toBe(3);

    // One of alice's sessions ends: her next one is served.
    a1.operator.close();
    await closed(a1.gateway);
    const a4 = session(b, alice);
    expect(await openSlot(a4.operator)).toMatchObject({ t: 'opened', slot: 'rs485-1' });

    await turns();
    const refusals = audit.filter((l) => l.code === 'TOO_MANY_SESSIONS');
    expect(refusals).toHaveLength(1);
    expect(refusals[0]).toMatchObject({ action: 'session', decision: 'refused', operator: toHex(alice.id.cid) });
    expect(String(refusals[0]!.reason)).toContain('already holds 2 sessions');
    // The session turned away never reached the channel router: nothing of it was opened or audited as allowed.
    expect(audit.filter((l) => l.action === 'open.modbus').map((l) => l.decision)).toEqual(['allowed', 'allowed', 'allowed', 'allowed']);
  });

  it(`the default is ${DEFAULT_SESSIONS_PER_OPERATOR} sessions per operator`, async () => {
    const { b } = fakeClockBroker();
    const carol = d.member('operator');
    const served = Array.from({ length: DEFAULT_SESSIONS_PER_OPERATOR }, () => session(b, carol));
    for (const s of served) expect(await openSlot(s.operator)).toMatchObject({ t: 'opened' });
    expect(await openSlot(session(b, carol).operator)).toEqual({ t: 'refused', code: 'TOO_MANY_SESSIONS' });
  });

  it('a session turned away is answered on the evidence channel its CH1 asked for, and one that opens no channel is closed after TURN_AWAY_MS', async () => {
    const { b, clock } = fakeClockBroker({ sessionsPerOperator: 1 });
    const dave = d.member('operator');
    session(b, dave);
    // Evidence asked in CH1: the refusal comes on the gateway's channel, and the session closes.
    const asked = session(b, dave, new Uint8Array(32));
    const pushed = await new Promise<HilMessage>((resolve) => asked.operator.once('channel', (ch: Channel) => first(ch).then(resolve)));
    expect(pushed).toEqual({ t: 'refused', code: 'TOO_MANY_SESSIONS' });
    await closed(asked.operator);
    // No channel at all: closed once TURN_AWAY_MS have passed, not before.
    const idle = session(b, dave);
    clock.advance(TURN_AWAY_MS - 1);
    await turns();
    expect(idle.gateway.isClosing || idle.gateway.state === 'closed').toBe(false);
    clock.advance(1);
    await closed(idle.operator);
  });
});
