// Incoming PUBLISH payloads over maxPayloadBytes are dropped as they arrive (mqtt-publish-limit.ts),
// never gathered whole: one 200 MB message used to cost ~600 MB of RSS before the bridge dropped it.
//   * PublishLimit alone: random packet streams (mqtt-packet, MQTT 3.1.1 and 5), cut into random
//     chunks, come out as the same packets, except that each PUBLISH over the bound has lost its
//     payload and only it, and `publishes` says which, with the sizes dropped; with a room that
//     refuses PUBLISH packets at random, the stream stops right before each refused one (nothing
//     of it or after it passes) until tryAgain(), and comes out the same;
//   * MqttLink against a loopback broker of our own: a large QoS 1 PUBLISH reaches the consumer,
//     empty and marked oversized, while the broker is still holding back most of its payload
//     (so nothing gathered it), is acknowledged, and the packet after it arrives whole.

import { createServer, type Socket } from 'node:net';
import fc from 'fast-check';
import mqttPacket from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { MqttLink } from '../../src/ports/mqtt.js';
import { PublishLimit, type PublishRoom } from '../../src/ports/mqtt-publish-limit.js';
import { waitFor } from '../virtual-serial/harness.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

type Packet = mqttPacket.Packet;

function parseAll(bytes: Buffer, protocolVersion: 4 | 5): Packet[] {
  const out: Packet[] = [];
  const p = mqttPacket.parser({ protocolVersion });
  p.on('packet', (x) => out.push(x));
  p.on('error', (e) => {
    throw e;
  });
  p.parse(bytes);
  return out;
}

async function through(limit: PublishLimit, chunks: Buffer[]): Promise<Buffer> {
  const out: Buffer[] = [];
  limit.on('data', (d: Buffer) => out.push(d));
  const ended = new Promise((r) => limit.on('end', r));
  for (const c of chunks) limit.write(c);
  limit.end();
  await ended;
  return Buffer.concat(out);
}

describe('PublishLimit', () => {
  it('property: every packet passes unchanged but the payloads over the bound, which are dropped', async () => {
    const MAX = 40;
    const publish = (v: 4 | 5) =>
      fc.record({ topic: fc.string({ minLength: 1, maxLength: 30 }), size: fc.oneof(fc.nat(MAX + 2), fc.integer({ min: MAX, max: 20_000 })), qos: fc.constantFrom(0, 1, 2), retain: fc.boolean(), id: fc.integer({ min: 1, max: 65_535 }), user: fc.boolean() }).map(
        (o): Packet => ({ cmd: 'publish', topic: o.topic, payload: Buffer.alloc(o.size, 0x5a), qos: o.qos as 0 | 1 | 2, retain: o.retain, dup: false, ...(o.qos > 0 ? { messageId: o.id } : {}), ...(v === 5 && o.user ? { properties: { userProperties: { k: 'v'.repeat(o.size % 50) } } } : {}) }) as Packet,
      );
    const other = fc.constantFrom<Packet>({ cmd: 'pingresp' }, { cmd: 'puback', messageId: 7 }, { cmd: 'suback', messageId: 3, granted: [1, 0x80] });
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(4 as const, 5 as const).chain((v) => fc.tuple(fc.constant(v), fc.array(fc.oneof(publish(v), other), { maxLength: 8 }), fc.array(fc.integer({ min: 1, max: 3000 }), { minLength: 1, maxLength: 8 }))), async ([v, packets, cuts]) => {
        const bytes = Buffer.concat(packets.map((p) => mqttPacket.generate(p, { protocolVersion: v })));
        const chunks: Buffer[] = [];
        for (let at = 0, k = 0; at < bytes.length; k++) chunks.push(bytes.subarray(at, (at += cuts[k % cuts.length]!)));
        const limit = new PublishLimit(MAX, v);
        const got = parseAll(await through(limit, chunks), v);
        const want = packets.map((p) => (p.cmd === 'publish' && p.payload.length > MAX ? { ...p, payload: Buffer.alloc(0) } : p));
        expect(got).toEqual(parseAll(Buffer.concat(want.map((p) => mqttPacket.generate(p, { protocolVersion: v }))), v));
        expect(limit.publishes).toEqual(packets.filter((p) => p.cmd === 'publish').map((p) => (p.payload.length > MAX ? p.payload.length : null)));
      }),
      { numRuns: 400 },
    );
  });

  it('property: a PUBLISH the room refuses stops the stream right before it until tryAgain(); each is asked for once in order, with the bytes that reach mqtt.js', async () => {
    const MAX = 40;
    const publish = fc
      .record({ size: fc.oneof(fc.nat(MAX + 2), fc.integer({ min: MAX, max: 5_000 })), qos: fc.constantFrom(0, 1, 2), id: fc.integer({ min: 1, max: 65_535 }), refuse: fc.nat(2) })
      .map((o) => ({ refuse: o.refuse, packet: { cmd: 'publish', topic: 'plant/t', payload: Buffer.alloc(o.size, 0x5a), qos: o.qos as 0 | 1 | 2, retain: false, dup: false, ...(o.qos > 0 ? { messageId: o.id } : {}) } as Packet }));
    const other = fc.constantFrom<Packet>({ cmd: 'pingresp' }, { cmd: 'puback', messageId: 7 }).map((packet) => ({ refuse: 0, packet }));
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(publish, other), { maxLength: 8 }), fc.array(fc.integer({ min: 1, max: 3000 }), { minLength: 1, maxLength: 8 }), async (items, cuts) => {
        const bytes = Buffer.concat(items.map((x) => mqttPacket.generate(x.packet)));
        const want = items.map((x) => (x.packet.cmd === 'publish' && x.packet.payload.length > MAX ? { ...x.packet, payload: Buffer.alloc(0) } : x.packet)).map((p) => mqttPacket.generate(p));
        // Where each PUBLISH starts in what comes out, the bytes after its fixed header, how often it is refused.
        const expected: { at: number; qos: number; bytes: number; refuse: number }[] = [];
        want.forEach((w, i) => {
          const p = items[i]!.packet;
          if (p.cmd === 'publish') expected.push({ at: Buffer.concat(want.slice(0, i)).length, qos: p.qos, bytes: w.length - 1 - lengthBytes(w), refuse: items[i]!.refuse });
        });
        const asked: { qos: number; bytes: number }[] = [];
        let k = 0;
        let refusals = 0;
        const room: PublishRoom = {
          admit: (qos, n) => {
            asked.push({ qos, bytes: n });
            if (refusals < expected[k]!.refuse) return (refusals++, false);
            [k, refusals] = [k + 1, 0];
            return true;
          },
        };
        const limit = new PublishLimit(MAX, 4, room);
        const out: Buffer[] = [];
        limit.on('data', (d: Buffer) => out.push(d));
        let ended = false;
        limit.on('end', () => (ended = true));
        for (let at = 0, i = 0; at < bytes.length; i++) limit.write(bytes.subarray(at, (at += cuts[i % cuts.length]!)));
        limit.end();
        const stops: number[] = [];
        while (!ended) {
          await new Promise((r) => setImmediate(r));
          if (!limit.heldBack) continue;
          stops.push(Buffer.concat(out).length);
          limit.tryAgain();
        }
        expect(Buffer.concat(out)).toEqual(Buffer.concat(want));
        expect(stops).toEqual(expected.flatMap((e) => Array<number>(e.refuse).fill(e.at)));
        expect(asked).toEqual(expected.flatMap((e) => Array<{ qos: number; bytes: number }>(e.refuse + 1).fill({ qos: e.qos, bytes: e.bytes })));
      }),
      { numRuns: 300 },
    );
  });
});

/** How many bytes the remaining length of the packet `b` takes (MQTT §2.2.3). */
function lengthBytes(b: Buffer): number {
  let n = 1;
  while ((b[n]! & 0x80) !== 0) n++;
  return n;
}

describe('MqttLink with maxPayloadBytes', () => {
  it('a large PUBLISH arrives empty and marked while its payload is still coming; acknowledged; the next is whole', async () => {
    const SIZE = 8 * 1024 * 1024;
    const pubacks: number[] = [];
    let sock: Socket | undefined;
    const server = createServer((s) => {
      sock = s;
      const p = mqttPacket.parser({ protocolVersion: 4 });
      p.on('packet', (pk) => {
        if (pk.cmd === 'connect') s.write(mqttPacket.generate({ cmd: 'connack', returnCode: 0, sessionPresent: false }));
        if (pk.cmd === 'puback') pubacks.push(pk.messageId!);
      });
      s.on('data', (d) => p.parse(d));
      s.on('error', () => {});
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    cleanups.push(() => new Promise((r) => server.close(r)));
    cleanups.push(() => sock?.destroy());
    const l = new MqttLink({ url: `mqtt://127.0.0.1:${(server.address() as { port: number }).port}`, maxPayloadBytes: 1024 }).start();
    cleanups.push(() => l.close());
    await l.whenOpen();

    const big = mqttPacket.generate({ cmd: 'publish', topic: 'plant/dump', payload: Buffer.alloc(SIZE, 0x41), qos: 1, messageId: 42, retain: false, dup: false });
    const held = 6 * 1024 * 1024; // the broker holds back the last 6 MiB of the payload for now
    sock!.write(big.subarray(0, big.length - held));
    let m: Awaited<ReturnType<MqttLink['receive']>> | undefined;
    l.receive().then((x) => (m = x), () => {}); // closed at the end if it never came
    await waitFor(() => m !== undefined, 10_000, 'the message while most of its payload is held back');
    expect(m).toMatchObject({ topic: 'plant/dump', qos: 1, oversized: SIZE });
    expect(m!.payload.length).toBe(0);
    await waitFor(() => pubacks.includes(42), 10_000, 'the PUBACK');

    sock!.write(big.subarray(big.length - held));
    sock!.write(mqttPacket.generate({ cmd: 'publish', topic: 'plant/t', payload: Buffer.from('21.4'), qos: 0, retain: false, dup: false }));
    const next = await l.receive();
    expect(next).toMatchObject({ topic: 'plant/t', qos: 0 });
    expect(Buffer.from(next.payload).toString()).toBe('21.4');
    expect(next.oversized).toBeUndefined();
  });
});
