// What reaches the bus once an operator's authority ends (review of 3deca72, finding 1). A Grant
// that expires or is revoked, a session the gateway closes and a channel the operator closes must
// stop the operator's Modbus traffic at once: requests still waiting for the bus are taken off its
// queue and never sent (audited `failed` ABORTED, `sent: false`), one already on the wire completes
// and is audited as what happened, and nothing the operator sends after the session started closing
// reaches the broker (the CLOSE waits for the operator's ack, up to CLOSE_TIMEOUT_MS, and messages
// that cross it are still delivered to the gateway's session). Real serial port and simulated slave
// (virtual-serial harness); Grant expiry on a fake clock; writes counted at the slave.

import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock, turns } from '../../helpers/fake-clock.js';
import { cleanupVirtualSerial, waitFor } from '../../virtual-serial/harness.js';
import { modbusBrokerRig, read, SLOT, write, type Operator, type Rig } from './modbus-broker-rig.js';
import type { Purpose } from '../../../src/uzp/artefacts/types.js';
import { encodeHil } from '../../../src/hil/messages.js';

const WRITE: Purpose[] = [{ purpose: 'modbus.read' }, { purpose: 'modbus.write' }];

let rig: Rig | undefined;
afterEach(async () => {
  await rig?.close();
  rig = undefined;
  await cleanupVirtualSerial();
});

/** A rig whose one operator's Grant expires when the fake clock passes 60 s. */
async function setup(): Promise<{ rig: Rig; clock: FakeClock; op: Operator }> {
  const clock = new FakeClock();
  const t0 = clock.now();
  // A slow slave (40 ms before each reply): writes sent together wait in the bus queue.
  rig = await modbusBrokerRig({ clock, slaveDelayMs: 40 });
  const op = rig.session(WRITE, (g) => () => g.expiresAt * 1000 - 60_000 + (clock.now() - t0));
  return { rig, clock, op };
}

const closed = (s: { state: string; once: (e: 'close', f: () => void) => unknown }): Promise<void> => new Promise((r) => (s.state === 'closed' ? r() : s.once('close', () => r())));

describe('Modbus writes after the operator’s authority ended', () => {
  const ends: [string, (r: Rig, clock: FakeClock, op: Operator) => void][] = [
    ['the Grant expires', (_r, clock) => clock.advance(60_000)],
    ['the Grant is revoked', (r) => void r.broker.revalidate(() => false)],
  ];

  for (const [name, end] of ends) {
    it(`${name}: queued writes are taken off the bus queue, never sent, audited as not sent; the one on the wire completes`, async () => {
      const { rig, clock, op } = await setup();
      const c = await op.modbus();
      for (let i = 0; i < 10; i++) c.send({ t: 'req', id: i, unit: 1, pdu: write(i, 1) });
      await waitFor(() => rig.bus.unitStats(1).requests >= 1 && rig.bus.queued(1) >= 5, 10_000, 'writes on the wire and queued');
      const sentBefore = rig.bus.unitStats(1).requests;
      end(rig, clock, op);
      await closed(op.gateway);
      await rig.drained();
      // Before: all ten reached the slave, the last ones seconds after the session ended.
      const sent = rig.bus.unitStats(1).requests - 1; // less drained()'s read
      expect(sent).toBe(sentBefore);
      expect(rig.slave.counters.writes).toBe(sent);
      await turns();
      const lines = rig.audit.filter((l) => l.action === 'modbus.write' || l.action === 'modbus.request');
      expect(lines.filter((l) => l.action === 'modbus.write' && l.decision === 'allowed')).toHaveLength(sent);
      // Before: 'failed' ABORTED for every one, the sent ones included.
      expect(lines.filter((l) => l.decision === 'failed' && l.code === 'ABORTED' && l.sent === false)).toHaveLength(10 - sent);
      expect(lines).toHaveLength(10);
    });

    it(`${name}: writes that cross the CLOSE do not reach the broker, the bus or the audit as allowed`, async () => {
      const { rig, clock, op } = await setup();
      const c = await op.modbus();
      // Sent in the turn the gateway ends the session: they reach it after it started closing.
      for (let i = 0; i < 5; i++) c.send({ t: 'req', id: i, unit: 1, pdu: write(10 + i, 1) });
      end(rig, clock, op);
      expect(op.gateway.isClosing).toBe(true);
      await closed(op.gateway);
      await rig.drained();
      // Before: all five executed and audited "allowed", after `session.end`.
      expect(rig.slave.counters.writes).toBe(0);
      await turns();
      expect(rig.audit.filter((l) => l.action === 'modbus.write')).toEqual([]);
      expect(rig.audit.find((l) => l.action === 'session.end')).toMatchObject({ code: name.includes('expires') ? 'GRANT_EXPIRED' : 'REVOKED' });
    });
  }

  it('the gateway closes the session (stop): messages that cross its CLOSE reach no device', async () => {
    const { rig, op } = await setup();
    const c = await op.modbus();
    for (let i = 0; i < 5; i++) c.send({ t: 'req', id: i, unit: 1, pdu: write(20 + i, 1) });
    op.gateway.close();
    await closed(op.gateway);
    await rig.drained();
    expect(rig.slave.counters.writes).toBe(0);
  });

  it('the operator closes its channel: its queued writes are never sent', async () => {
    const { rig, op } = await setup();
    const c = await op.modbus();
    for (let i = 0; i < 10; i++) c.send({ t: 'req', id: i, unit: 1, pdu: write(30 + i, 1) });
    await waitFor(() => rig.bus.unitStats(1).requests >= 1 && rig.bus.queued(1) >= 5, 10_000, 'writes on the wire and queued');
    await c.ch.close();
    await rig.drained();
    // Before: all ten, up to 5.4 s after the close in the review's run.
    const sent = rig.slave.counters.writes;
    expect(sent).toBeLessThan(10);
    await turns();
    expect(rig.audit.filter((l) => l.action === 'modbus.write' && l.decision === 'allowed')).toHaveLength(sent);
    expect(rig.audit.filter((l) => l.code === 'ABORTED' && l.sent === false)).toHaveLength(10 - sent);
    // The session itself lives on: a new channel is served.
    const again = await op.modbus();
    again.send({ t: 'req', id: 99, unit: 1, pdu: read(30, 1) });
    await waitFor(() => again.replies.length === 1, 10_000, 'the read on a new channel');
    expect(again.replies[0]!.pdu[0]).toBe(3);
  });

  it('early data (0-RTT) on a session whose Grant expired as it was admitted reaches no device', async () => {
    const clock = new FakeClock();
    rig = await modbusBrokerRig({ clock, slaveDelayMs: 0 });
    const op = rig.session(WRITE, (g) => () => g.expiresAt * 1000 + 1);
    expect(op.gateway.isClosing || op.gateway.state === 'closed').toBe(true);
    op.gateway.deliverEarly([
      { channel: 1, message: encodeHil({ t: 'open', slot: SLOT, mode: 'modbus' }) },
      { channel: 1, message: encodeHil({ t: 'req', id: 1, unit: 1, pdu: read(0, 1) }) },
    ]);
    await closed(op.gateway);
    await rig.drained();
    // Before: the early open and read were served although the session had already been ended.
    expect(rig.slave.counters.requests).toBe(1); // drained()'s own read
  });
});
