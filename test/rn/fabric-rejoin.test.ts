// The RN joins the fabric again when its NATS connection closed for good (the client gives up after
// errors it will not retry: fabric.ts watch() -> onLost -> RendezvousNode.joinFabric's rejoin). A real
// nats-server; the RN's log says what happened, and the RN subscribes again to JOINs for the CIDs
// accepting here, so the new connection carries the RN's presence.

import { connect } from '@nats-io/transport-node';
import { afterEach, describe, expect, it } from 'vitest';
import type { RnLog } from '../../src/rn/log.js';
import { toHex } from '../../src/uzp/bytes.js';
import { until } from '../uzp/link/wait.js';
import { attachTo, startInProcessRn } from '../helpers/inprocess-rn.js';
import { NatsCluster } from '../helpers/nats-cluster.js';

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function recordingLog(): RnLog & { readonly events: string[] } {
  const events: string[] = [];
  const rec = (o: object): void => void events.push(String((o as { event?: string }).event));
  return { events, debug: rec, info: rec, warn: rec, error: rec };
}

/**
 * Whether some RN subscribes to JOINs for `cid` on the fabric: a request to a subject nobody
 * subscribes fails at once (no responders); a subscribed RN drops this junk silently, so the request
 * times out. Asked until subscribed, for at most ~10 s.
 */
async function present(server: string, domain: string, cid: Uint8Array, tries = 100): Promise<boolean> {
  const client = await connect({ servers: server });
  try {
    for (let i = 0; i < tries; i++) {
      try {
        await client.request(`uzp.${domain}.join.${toHex(cid)}`, new Uint8Array([0xa0]), { timeout: 300 });
        return true; // an answer: subscribed all the same
      } catch (e) {
        if (!/no responders|503/i.test(String((e as Error)?.message) + String((e as { code?: unknown }).code))) return true;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    return false;
  } finally {
    await client.close();
  }
}

describe('RN: the fabric lost for good', () => {
  it('is joined again, and the RN is present on the new connection', async () => {
    const nats = await NatsCluster.start(1);
    cleanups.push(() => nats.stop());
    const server = nats.nodes[0]!.url;
    const log = recordingLog();
    const env = await startInProcessRn(cleanups, { log });
    await env.rn.joinFabric({ servers: [server], domain: 'rejoin' });
    const gw = env.d.member('gateway');
    const link = await attachTo(env, gw, cleanups);
    link.accept();
    expect(await present(server, 'rejoin', gw.id.cid)).toBe(true);
    expect(await present(server, 'rejoin', env.d.member('gateway').id.cid, 3)).toBe(false); // the check can fail
    const first = await (env.rn as unknown as { fabric: Promise<{ nc: { close(): Promise<void>; isClosed(): boolean } } | undefined> }).fabric;
    // As the client does after errors it will not retry: closed, not by the RN.
    await first!.nc.close();
    await until(() => log.events.filter((e) => e === 'fabric_connected').length === 2, 'joined again');
    expect(log.events).toContain('fabric_lost');
    expect(log.events).not.toContain('fabric_rejoin_failed');
    const second = await (env.rn as unknown as { fabric: Promise<{ nc: { isClosed(): boolean } } | undefined> }).fabric;
    expect(second).not.toBe(first);
    expect(second!.nc.isClosed()).toBe(false);
    // The presence of the gateway attached before the loss is published again on the new connection.
    expect(await present(server, 'rejoin', gw.id.cid)).toBe(true);
  }, 30_000);
});
