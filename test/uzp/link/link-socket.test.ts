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

/**
 * Each turn: 256 KiB of data (it fills the kernel's buffers fast) while the socket takes it, as the
 * link's sessions write (they wait for `drained` once a write returned false), and 16 control
 * frames whatever the socket holds. Data written regardless of a full socket kept it from ever
 * draining when this process, which is also the reading peer, was slow on a loaded box: the control
 * frames of 64 turns then counted as held, and the link failed against a peer that reads (CI-like
 * load: 1 run in 5 with setImmediate turns even with the writes waiting for `drained`).
 */
async function pushTurns(address: string, turns: number): Promise<{ failed: CodedError[]; turn: number }> {
  const failed: CodedError[] = [];
  let full = false;
  const ls = new LinkSocket(address, { frame: () => {}, heard: () => {}, failed: (e) => failed.push(e), drained: () => (full = false) });
  const turn = () => new Promise((r) => setImmediate(r));
  while (!ls.connected) await turn();
  // A millisecond a turn, not the next turn of the loop: sixteen control frames a turn are already
  // far more than a link sends (PONGs, UNSTITCHes), and the reading peer (this process) gets time.
  const tick = () => new Promise((r) => setTimeout(r, 1));
  const data = new Uint8Array(256 * 1024);
  const control = new Uint8Array(48);
  let t = 0;
  for (; t < turns && failed.length === 0; t++) {
    if (!full) full = !ls.write(data);
    for (let i = 0; i < 16; i++) ls.writeControl(control);
    await tick();
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
