// The link's socket against an RN that sends and never reads: control frames (the PONGs,
// UNSTITCHes and REJECT_OFFERs that answer it, the PINGs of a timer) do not stop at a full socket as
// data does, so past LINK_CONTROL_BACKLOG_MAX of them behind one the link fails instead of growing
// its write buffer. A real TCP peer on loopback that reads nothing, and one that reads everything.
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { CodedError } from '../../../src/lib/errors.js';
import { LINK_CONTROL_BACKLOG_MAX } from '../../../src/uzp/link/constants.js';
import { CLOSE_GRACE_MS, LinkSocket } from '../../../src/uzp/link/link-socket.js';

const servers: Server[] = [];
const peers: Socket[] = [];
afterEach(async () => {
  for (const s of peers.splice(0)) s.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** A loopback peer that reads (`read`) or holds everything unread. */
async function peer(read: boolean): Promise<string> {
  const server = createServer((s) => {
    peers.push(s);
    s.on('error', () => {});
    if (read) s.resume();
    else s.pause();
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `127.0.0.1:${(server.address() as { port: number }).port}`;
}

/** Each turn: 256 KiB of data (it fills the kernel's buffers fast) and 16 control frames. */
async function pushTurns(address: string, turns: number): Promise<{ failed: CodedError[]; turn: number }> {
  const failed: CodedError[] = [];
  const ls = new LinkSocket(address, { frame: () => {}, heard: () => {}, failed: (e) => failed.push(e), drained: () => {} });
  const turn = () => new Promise((r) => setImmediate(r));
  while (!ls.connected) await turn();
  const data = new Uint8Array(256 * 1024);
  const control = new Uint8Array(48);
  let t = 0;
  for (; t < turns && failed.length === 0; t++) {
    ls.write(data);
    for (let i = 0; i < 16; i++) ls.writeControl(control);
    await turn();
  }
  ls.close(false);
  return { failed, turn: t };
}

describe('LinkSocket: control frames behind a full socket', () => {
  it('an RN that never reads: the link fails once LINK_CONTROL_BACKLOG_MAX control frames are held', async () => {
    const { failed, turn } = await pushTurns(await peer(false), 2000);
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ code: 'LINK_CLOSED' });
    expect(failed[0]!.message).toContain('reads nothing we send');
    // It took at least the backlog's worth of control frames, written 16 a turn.
    expect(turn).toBeGreaterThanOrEqual(LINK_CONTROL_BACKLOG_MAX / 16);
  });

  it('an RN that reads: as many control frames as the backlog and more pass, the link stays up', async () => {
    const { failed, turn } = await pushTurns(await peer(true), (3 * LINK_CONTROL_BACKLOG_MAX) / 16);
    expect(failed).toEqual([]);
    expect(turn).toBe((3 * LINK_CONTROL_BACKLOG_MAX) / 16);
  });
});

describe('LinkSocket: a graceful close behind a full socket', () => {
  it('an RN that stops reading does not keep the socket: it is destroyed CLOSE_GRACE_MS after close(true)', async () => {
    const address = await peer(false);
    const ls = new LinkSocket(address, { frame: () => {}, heard: () => {}, failed: () => {}, drained: () => {} });
    while (!ls.connected) await new Promise((r) => setImmediate(r));
    // Far more than the kernel's buffers hold: the end (FIN) can never be written.
    const data = new Uint8Array(256 * 1024);
    for (let i = 0; i < 64; i++) ls.write(data);
    await new Promise((r) => setTimeout(r, 50));
    const socket = (ls as unknown as { socket: Socket }).socket;
    expect(socket.writableLength).toBeGreaterThan(0);
    const closed = new Promise<number>((r) => socket.once('close', () => r(performance.now())));
    const t0 = performance.now();
    ls.close(true);
    // Before: s.end() alone, and the socket (its descriptor and buffers) stayed open for good.
    const at = await Promise.race([closed, new Promise<number>((r) => setTimeout(() => r(-1), CLOSE_GRACE_MS + 5_000))]);
    expect(at).toBeGreaterThan(0);
    // Not before the grace: what could leave had its chance.
    expect(at - t0).toBeGreaterThanOrEqual(CLOSE_GRACE_MS - 50);
    expect(socket.destroyed).toBe(true);
  }, 15_000);
});
