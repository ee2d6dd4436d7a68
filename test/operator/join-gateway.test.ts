// The operator's first JOIN (src/operator/connect.ts joinGateway). It goes out behind the AUTH of a
// link still attaching (LinkPool.join), so it can fail with that attachment; then it is made again
// once any link of the pool is attached, within the first-attach window, and only a window that
// ends with no link attached gives up, with the pool's last link error. Refusals on an attached
// link are final, except PEER_NOT_ATTACHED (the gateway may attach within the window).

import { describe, expect, it } from 'vitest';
import { joinGateway } from '../../src/operator/connect.js';
import { ErrorCode, ProtocolError } from '../../src/uzp/errors.js';
import type { RnLink } from '../../src/uzp/link/rn-link.js';
import type { Session } from '../../src/uzp/session/session.js';
import { StateError } from '../../src/lib/errors.js';

const SESSION = { id: 'session' } as unknown as Session;

/** A pool with no link attached until `attach()`; ready() waits for it or for the signal. */
function pool() {
  let attached: RnLink | null = null;
  const waiters: (() => void)[] = [];
  return {
    get link(): RnLink | null {
      return attached;
    },
    ready(signal?: AbortSignal): Promise<RnLink> {
      if (attached !== null) return Promise.resolve(attached);
      if (signal?.aborted) return Promise.reject(new StateError(ErrorCode.LINK_CLOSED, 'aborted'));
      return new Promise((resolve, reject) => {
        waiters.push(() => resolve(attached!));
        signal?.addEventListener('abort', () => reject(new StateError(ErrorCode.LINK_CLOSED, 'aborted')), { once: true });
      });
    },
    attach(): void {
      attached = {} as RnLink;
      for (const w of waiters.splice(0)) w();
    },
  };
}

describe('joinGateway: the first JOIN', () => {
  it('a JOIN that failed with its attachment is made again once a link is attached', async () => {
    const links = pool();
    let calls = 0;
    const connect = async (): Promise<Session> => {
      calls++;
      if (calls === 1) {
        setTimeout(() => links.attach(), 20); // the manager's next address attaches
        throw new ProtocolError(ErrorCode.LINK_CLOSED, 'connect ECONNREFUSED');
      }
      return SESSION;
    };
    expect(await joinGateway(connect, links, AbortSignal.timeout(5_000), () => undefined)).toBe(SESSION);
    expect(calls).toBe(2);
  });

  it('with no link attached by the end of the window: the pool last link error, not the JOIN error', async () => {
    const links = pool();
    const down = new ProtocolError(ErrorCode.LINK_TIMEOUT, 'attach to 127.0.0.1:9: no answer');
    const failed = joinGateway(async () => Promise.reject(new ProtocolError(ErrorCode.LINK_CLOSED, 'attach failed')), links, AbortSignal.timeout(50), () => down);
    await expect(failed).rejects.toBe(down);
  });

  it('with no error from the pool either: LINK_CLOSED saying no RN of the set was reachable', async () => {
    const failed = joinGateway(async () => Promise.reject(new ProtocolError(ErrorCode.LINK_CLOSED, 'attach failed')), pool(), AbortSignal.timeout(50), () => undefined);
    await expect(failed).rejects.toMatchObject({ code: ErrorCode.LINK_CLOSED, message: expect.stringMatching(/no RN of the RN Set Statement reachable/) });
  });

  it('a refusal on an attached link is final; PEER_NOT_ATTACHED is tried again', async () => {
    const links = pool();
    links.attach();
    let calls = 0;
    const refused = joinGateway(
      async () => {
        calls++;
        throw new ProtocolError(ErrorCode.JOIN_REFUSED, 'refused');
      },
      links,
      AbortSignal.timeout(5_000),
      () => undefined,
    );
    await expect(refused).rejects.toMatchObject({ code: ErrorCode.JOIN_REFUSED });
    expect(calls).toBe(1);
    let tries = 0;
    const session = await joinGateway(
      async () => {
        if (++tries < 3) throw new ProtocolError(ErrorCode.PEER_NOT_ATTACHED, 'not yet');
        return SESSION;
      },
      links,
      AbortSignal.timeout(5_000),
      () => undefined,
    );
    expect(session).toBe(SESSION);
    expect(tries).toBe(3);
  });
});
