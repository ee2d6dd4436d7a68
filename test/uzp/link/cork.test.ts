// Write batching for link sockets (src/uzp/link/cork.ts): every write of one turn leaves in one
// writev on the next tick; flush() sends what is corked at once (a handshake flight the peer can
// work on while this side goes on), and writes after it cork again.

import { createServer, connect, type Socket, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { corkingWriter } from '../../../src/uzp/link/cork.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** A connected loopback pair: our client socket and a function that resolves with what the server got so far. */
async function pair(): Promise<{ client: Socket; received: () => Promise<number[]> }> {
  const got: number[] = [];
  const server = createServer((s) => s.on('data', (d: Buffer) => got.push(...d)));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const client = connect({ port: (server.address() as AddressInfo).port, host: '127.0.0.1', noDelay: true });
  await new Promise<void>((r) => client.once('connect', r));
  cleanups.push(() => (client.destroy(), server.close()));
  return { client, received: async () => (await new Promise((r) => setTimeout(r, 30)), got) };
}

describe('corkingWriter', () => {
  it('holds the writes of one turn until the next tick, then sends them in order', async () => {
    const { client, received } = await pair();
    const w = corkingWriter(client);
    w.write(Uint8Array.of(1));
    w.write(Uint8Array.of(2));
    expect(client.writableLength).toBe(2); // corked: nothing handed to the kernel yet
    await new Promise((r) => process.nextTick(r));
    expect(client.writableLength).toBe(0);
    expect(await received()).toEqual([1, 2]);
  });

  it('flush() sends at once; a write after it is corked again and nothing is lost or reordered', async () => {
    const { client, received } = await pair();
    const w = corkingWriter(client);
    w.write(Uint8Array.of(1));
    w.flush();
    expect(client.writableLength).toBe(0); // written within this turn
    w.write(Uint8Array.of(2));
    expect(client.writableLength).toBe(1);
    w.flush();
    w.flush(); // nothing corked: no effect
    w.write(Uint8Array.of(3));
    await new Promise((r) => process.nextTick(r));
    await new Promise((r) => setImmediate(r));
    expect(client.writableLength).toBe(0);
    expect(await received()).toEqual([1, 2, 3]);
  });
});
