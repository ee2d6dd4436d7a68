// A fabric JOIN request as the ingress RN sends it (docs/PROFILE.md §Fabric "JOIN at the ingress
// RN"): published to the target's join subject with a reply subject of our own, and answered by
// the first message there that `accept` takes — not the client's request(), which takes the first
// message whoever sent it. A request nobody answers in time is sent again, freshly signed (`next`),
// up to `attempts` times on the same reply subject: the queue group picks an RN again, so an RN
// that went silent (stopped, partitioned) but whose NATS presence lingers until the server drops
// its connection costs one timeout, not the JOIN; and an answer to an earlier attempt that comes
// late still counts.

import type { NatsConnection, Subscription } from '@nats-io/transport-node';

export interface JoinRequest<T> {
  readonly nc: NatsConnection;
  readonly subject: string;
  /** Ours alone (`uzp.<domain>.reply.<our cid>.<random>`). */
  readonly reply: string;
  /** The request to send for the next attempt (a fresh timestamp and signature each time). */
  next(): Uint8Array;
  /** The answer in a message on the reply subject, or undefined to drop it and wait on. */
  accept(data: Uint8Array): T | undefined;
  readonly timeoutMs: number;
  readonly attempts: number;
  /** An attempt went unanswered and another is sent. */
  onRetry(attempt: number): void;
}

/** The first accepted answer, 'none' on NATS's "no responders", 'timeout' when every attempt went unanswered. */
export function sendJoinRequest<T>(r: JoinRequest<T>): Promise<T | 'none' | 'timeout'> {
  return new Promise((resolve) => {
    let sub: Subscription | undefined;
    let timer: NodeJS.Timeout | undefined;
    let attempt = 0;
    let settled = false;
    const done = (v: T | 'none' | 'timeout'): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sub?.unsubscribe();
      resolve(v);
    };
    const send = (): void => {
      attempt++;
      try {
        r.nc.publish(r.subject, r.next(), { reply: r.reply });
      } catch {
        return done('none'); // a closed connection
      }
      timer = setTimeout(() => {
        if (attempt >= r.attempts) return done('timeout');
        r.onRetry(attempt);
        send();
      }, r.timeoutMs);
    };
    try {
      sub = r.nc.subscribe(r.reply, {
        callback: (err, msg) => {
          if (err !== null || settled) return;
          // The server's "no responders": an empty message with status 503 (only a party that sees
          // the request could forge one, and it could as well leave the request unanswered).
          if (msg.data.length === 0 && msg.headers?.code === 503) return done('none');
          const v = r.accept(msg.data);
          if (v !== undefined) done(v);
        },
      });
    } catch {
      return done('none');
    }
    send();
  });
}
