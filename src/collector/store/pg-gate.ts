// How many statements the PostgreSQL store runs at once (postgres.ts), and how long one waits for
// its turn. pg's Pool bounds both its connect and its wait for a free connection with the same
// connectionTimeoutMillis and the same message ("timeout exceeded when trying to connect"), so a
// busy pool (four windows held by a slow or locked server) was reported as "cannot reach
// PostgreSQL … check the URL". The store asks this gate first and never asks the pool for more
// connections than it has: the pool's timeout then only ever means a connect that failed.

export class PermitTimeout extends Error {}
export class GateClosed extends Error {}

interface Waiter {
  readonly grant: () => void;
  readonly fail: (e: Error) => void;
}

export class PermitGate {
  private free: number;
  private readonly waiting: Waiter[] = [];

  constructor(permits: number) {
    this.free = permits;
  }

  /** Resolves with a release function; rejects PermitTimeout after `waitMs`, GateClosed once closed. */
  acquire(waitMs: number): Promise<() => void> {
    const release = (): (() => void) => {
      let done = false;
      return () => {
        if (done) return;
        done = true;
        const next = this.waiting.shift();
        if (next !== undefined) next.grant();
        else this.free++;
      };
    };
    if (this.free > 0) {
      this.free--;
      return Promise.resolve(release());
    }
    return new Promise((resolve, reject) => {
      const w: Waiter = {
        grant: () => {
          clearTimeout(timer);
          resolve(release());
        },
        fail: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      const timer = setTimeout(() => {
        const i = this.waiting.indexOf(w);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(new PermitTimeout(`no connection free within ${waitMs} ms`));
      }, waitMs);
      this.waiting.push(w);
    });
  }

  /** Fails every waiter (the store is closing): they would otherwise wait for connections that are going away. */
  close(): void {
    for (const w of this.waiting.splice(0)) w.fail(new GateClosed('the store was closed'));
  }
}
