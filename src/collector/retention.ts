// Retention (OI §10.1 policy, the Discovery Grant's `cons.ret_d`): the collector keeps a gateway's
// readings no longer than the grant it accepted from that gateway allows. The days come from the
// `grant.accepted` entries of the store's audit trail (the latest per gateway), so a restart keeps
// them; a sweep at start, after each accepted grant and then hourly deletes readings stamped (by the
// gateway's clock, `ts`) more than that many days ago, one audit entry `retention.applied` per
// sweep that deleted anything. A sweep that fails is logged and tried again at the next one. Each
// sweep also finishes first what revocations a failure stopped midway left to delete (purges.ts).

import type { Logger } from 'pino';
import { fromHex, toHex } from '../uzp/bytes.js';
import type { Purges } from './purges.js';
import type { ReadingStore } from './store/store.js';

export const GRANT_ACCEPTED_EVENT = 'grant.accepted';
export const RETENTION_EVENT = 'retention.applied';
/** Between sweeps: retention is counted in days, so an hour late is close enough and costs one query per gateway. */
export const RETENTION_SWEEP_MS = 60 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

export class Retention {
  /** Gateway CID (hex) -> retention days of the grant last accepted from it. */
  private readonly days = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<void> | undefined;

  private constructor(
    private readonly store: ReadingStore,
    private readonly logger: Logger,
    private readonly now: () => number,
    private readonly purges: Purges | undefined,
  ) {}

  /**
   * The retention of each gateway's latest accepted grant, from the audit trail. With `purges`,
   * each sweep first finishes the revocations a failure stopped midway (purges.ts).
   */
  static async load(store: ReadingStore, logger: Logger, now: () => number = Date.now, purges?: Purges): Promise<Retention> {
    const r = new Retention(store, logger, now, purges);
    for await (const e of store.auditEvents(GRANT_ACCEPTED_EVENT)) {
      const days = (e.detail.constraints as { retentionDays?: unknown } | undefined)?.retentionDays;
      if (typeof days === 'number' && Number.isSafeInteger(days) && days >= 1) r.days.set(toHex(e.gateway), days);
    }
    return r;
  }

  /** A grant with `days` of retention was accepted from `gateway`: it applies from now on (and a sweep runs). */
  note(gateway: Uint8Array, days: number): void {
    this.days.set(toHex(gateway), days);
    void this.sweep();
  }

  /** The retention in force for `gateway`, if any grant was accepted from it. */
  daysFor(gateway: Uint8Array): number | undefined {
    return this.days.get(toHex(gateway));
  }

  /** Sweeps now and then every RETENTION_SWEEP_MS (the timer does not keep the process alive). */
  start(): void {
    void this.sweep();
    this.timer = setInterval(() => void this.sweep(), RETENTION_SWEEP_MS);
    this.timer.unref();
  }

  /** Stops the timer and waits for a sweep in progress. */
  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    await this.sweeping;
  }

  /** Deletes, per gateway, the readings older than its retention; one sweep at a time. */
  sweep(): Promise<void> {
    this.sweeping ??= this.run().finally(() => {
      this.sweeping = undefined;
    });
    return this.sweeping;
  }

  private async run(): Promise<void> {
    try {
      await this.purges?.resume();
    } catch (e) {
      this.logger.warn({ event: 'revoke.resume_failed', reason: (e as Error).message }, "could not finish deleting a revocation's readings (they stay out of view); trying again at the next sweep");
    }
    for (const [gw, days] of [...this.days]) {
      const before = this.now() - days * DAY_MS;
      try {
        const deleted = await this.store.deleteBefore(fromHex(gw), before);
        if (deleted === 0) continue;
        await this.store.audit({ at: this.now(), gateway: fromHex(gw), event: RETENTION_EVENT, detail: { deleted, before: new Date(before).toISOString(), retention_days: days } });
        this.logger.info({ event: RETENTION_EVENT, gateway: gw, deleted, retention_days: days }, "readings past the grant's retention deleted");
      } catch (e) {
        this.logger.warn({ event: 'retention.failed', gateway: gw, reason: (e as Error).message }, 'retention sweep failed; trying again at the next one');
      }
    }
  }
}
