// The fabric's NATS connection (fabric.ts; docs/SCALE.md "NATS client"): the first connection is
// retried here, for ever with jittered backoff until the caller aborts (the RN serves its own EPs
// meanwhile); once in, the client reconnects by itself, for ever.

import type { NatsConnection } from '@nats-io/transport-node';
import type { RnLog } from '../log.js';

/** Backoff cap between first connection attempts. */
const FIRST_CONNECT_CAP_MS = 10_000;

export interface FabricConnectOptions {
  /** nats://host:port of one or more cluster nodes, in the order of preference. */
  readonly servers: readonly string[];
  /** The NATS connection name. */
  readonly name: string;
  readonly user?: string;
  readonly pass?: string;
  readonly log: RnLog;
}

/** Connects, retrying until `signal` aborts; resolves undefined when aborted first (nothing left open). */
export async function connectFabric(o: FabricConnectOptions, signal: AbortSignal): Promise<NatsConnection | undefined> {
  // Loaded only by an RN that joins a fabric: nobody else pays for the client.
  const { connect } = await import('@nats-io/transport-node');
  let nc: NatsConnection | undefined;
  for (let attempt = 0; nc === undefined; attempt++) {
    if (signal.aborted) return undefined;
    try {
      nc = await connect({
        servers: [...o.servers],
        name: o.name,
        // Once in, never give up (the client's default is 10 attempts), with jitter against
        // reconnect storms; before that, the loop here retries, so a close can stop it.
        maxReconnectAttempts: -1,
        reconnectTimeWait: 250,
        reconnectJitter: 500,
        // The order given is the order of preference (this RN's own node first), not shuffled.
        noRandomize: true,
        // A silent server is found in ~10 s, not the default 4 minutes (our pings to it; the server
        // finds a silent RN by its own ping_interval, docs/SCALE.md).
        pingInterval: 5_000,
        maxPingOut: 2,
        // Our own publications are never for us (a JOIN to a CID this RN holds is stitched locally).
        noEcho: true,
        // The client's default gives up for good after a second authentication error on reconnect
        // (credentials rotated on the cluster before the RN's): keep trying, as for any other outage.
        ignoreAuthErrorAbort: true,
        ...(o.user !== undefined ? { user: o.user, pass: o.pass ?? '' } : {}),
      });
    } catch (e) {
      const wait = Math.min(FIRST_CONNECT_CAP_MS, 250 * 2 ** Math.min(attempt, 6)) * (0.5 + Math.random());
      if (attempt === 0) o.log.warn({ event: 'fabric_unreachable', reason: (e as Error).message }, 'no NATS server of the fabric answers; retrying, serving local endpoints meanwhile');
      await new Promise<void>((resolve) => {
        // One listener per wait, removed with it: the loop may run for as long as NATS is away.
        const onAbort = (): void => {
          clearTimeout(t);
          resolve();
        };
        const t = setTimeout(() => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        }, wait);
        signal.addEventListener('abort', onAbort, { once: true });
      });
    }
  }
  if (signal.aborted) {
    await nc.close().catch(() => undefined);
    return undefined;
  }
  return nc;
}
