// Keeps the status file current (issue #9): written at start, whenever the RN attachment changes
// (the LinkManager's up/down, the same events the gateway logs as rn.attached / rn.detached), every
// STATUS_INTERVAL_MS on the gateway's clock, and once more at stop with state "stopped". Each
// periodic check also logs artefact.expiring / artefact.expired, at most once per artefact per day.
// The file is an aid, never a duty: a failed write is logged once and the gateway carries on.

import type { CodedError } from '../lib/errors.js';
import type { Clock } from '../lib/clock.js';
import { toHex } from '../uzp/bytes.js';
import { ExpiryNotices } from './expiry.js';
import { gatherStatus, type StatusParts } from './status-gather.js';
import { writeStatusFile, type GatewayStatus, type RnStatus } from './status-file.js';

/** How often the status file is rewritten while running (readers call it stale after a few periods). */
export const STATUS_INTERVAL_MS = 30_000;

/** The LinkManager events and counters the reporter follows (LinkManager fits). */
export interface RnLinkEvents {
  readonly failures: number;
  /** Every attached link (a LinkPool has them). */
  readonly links?: readonly AttachedRn[];
  on(event: 'up', cb: (link: AttachedRn) => void): unknown;
  on(event: 'down', cb: (err: CodedError | undefined) => void): unknown;
  off(event: 'up', cb: (link: AttachedRn) => void): unknown;
  off(event: 'down', cb: (err: CodedError | undefined) => void): unknown;
  on(event: 'link-down', cb: (err: CodedError | undefined) => void): unknown;
  off(event: 'link-down', cb: (err: CodedError | undefined) => void): unknown;
}

/** What the reporter reads of an attached RnLink. */
interface AttachedRn {
  readonly rnCid: Uint8Array;
  readonly address: string;
}

/** The two log calls used (a pino logger fits). */
interface StatusLog {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

export interface StatusReporterOptions extends StatusParts {
  readonly file: string;
  readonly links: RnLinkEvents;
  readonly log: StatusLog;
  /** The periodic timer (the gateway's injected clock). */
  readonly clock: Clock;
  /** Wall time in Unix ms for written_at and expiry (default Date.now; Clock.now is monotonic). */
  readonly now?: () => number;
  readonly intervalMs?: number;
}

export class StatusReporter {
  private readonly now: () => number;
  private readonly intervalMs: number;
  private readonly notices = new ExpiryNotices();
  private startedAtMs: number | undefined;
  private state: 'running' | 'stopped' = 'running';
  private rn: RnStatus = { state: 'connecting', since: '', failures: 0 };
  private cancelTimer: () => void = () => {};
  private writing: Promise<void> | null = null;
  private again = false;
  private failing = false;

  constructor(private readonly o: StatusReporterOptions) {
    this.now = o.now ?? Date.now;
    this.intervalMs = o.intervalMs ?? STATUS_INTERVAL_MS;
  }

  start(): void {
    this.startedAtMs = this.now();
    this.rn = { state: 'connecting', since: this.iso(), failures: 0 };
    this.o.links.on('up', this.onUp);
    this.o.links.on('down', this.onDown);
    this.o.links.on('link-down', this.onLinkDown);
    this.tick();
  }

  /** Writes now (e.g. after SIGHUP installed a new revocation list). */
  refresh(): void {
    if (this.state === 'running') this.write();
  }

  /** Stops the timer and writes the final state "stopped" (after any write in flight); nothing if never started. */
  async stop(): Promise<void> {
    if (this.state === 'stopped' || this.startedAtMs === undefined) return;
    this.state = 'stopped';
    this.cancelTimer();
    this.o.links.off('up', this.onUp);
    this.o.links.off('down', this.onDown);
    this.o.links.off('link-down', this.onLinkDown);
    this.rn = { state: 'stopped', since: this.iso(), failures: this.o.links.failures };
    this.write();
    await this.idle();
  }

  /** Resolves once no write is in flight or queued. */
  async idle(): Promise<void> {
    while (this.writing !== null) await this.writing;
  }

  private readonly onUp = (link: AttachedRn): void => {
    const since = this.rn.state === 'attached' ? this.rn.since : this.iso();
    this.rn = { state: 'attached', rn: toHex(link.rnCid), address: link.address, since, failures: 0, ...this.attached() };
    this.write();
  };

  /** One link of several went down: the list shrinks; 'down' reports losing the last one. */
  private readonly onLinkDown = (): void => {
    if (this.rn.state !== 'attached') return;
    this.rn = { ...this.rn, ...this.attached() };
    this.write();
  };

  private attached(): { links?: { rn: string; address: string }[] } {
    const l = this.o.links.links;
    return l === undefined ? {} : { links: l.map((x) => ({ rn: toHex(x.rnCid), address: x.address })) };
  }

  /** `err` undefined: the LinkManager was stopped, which stop() reports. */
  private readonly onDown = (err: CodedError | undefined): void => {
    if (err === undefined) return;
    const lost = this.rn.state === 'attached';
    this.rn = {
      state: lost ? 'detached' : this.rn.state,
      since: lost ? this.iso() : this.rn.since,
      failures: this.o.links.failures,
      last_error: { code: err.code, message: err.message, at: this.iso() },
    };
    this.write();
  };

  /** Periodic: warn about artefacts running out, write, schedule the next. unref: the timer alone keeps no process alive. */
  private tick(): void {
    if (this.state === 'stopped') return;
    // Scheduled first and guarded: a snapshot reads live parts (the reading log's database among
    // them, on a card that may be failing), and a throw out of a timer would end the gateway.
    this.cancelTimer = this.o.clock.setTimeout(() => this.tick(), this.intervalMs, { unref: true });
    try {
      this.warnExpiry(this.snapshot());
    } catch (e) {
      this.o.log.warn({ event: 'status.snapshot_failed', error: (e as Error)?.message ?? String(e) }, 'cannot gather the gateway status now (carrying on)');
    }
    this.write();
  }

  private warnExpiry(s: GatewayStatus): void {
    const nowMs = this.now();
    for (const a of s.artefacts) {
      if (a.expiry === 'ok' || !this.notices.due(`${a.kind}:${a.object_id}`, a.expiry, nowMs)) continue;
      const event = a.expiry === 'expired' ? 'artefact.expired' : 'artefact.expiring';
      this.o.log.warn({ event, artefact: a.kind, ...(a.file !== undefined ? { file: a.file } : {}), object_id: a.object_id, expires_at: a.expires_at }, `${a.kind} ${a.warning}`);
    }
  }

  private snapshot(): GatewayStatus {
    return gatherStatus(this.o, { nowMs: this.now(), state: this.state, startedAtMs: this.startedAtMs ?? this.now(), intervalMs: this.intervalMs, rn: this.rn });
  }

  /** One write at a time; a request during a write is served once it ends, with the newest snapshot. */
  private write(): void {
    if (this.writing !== null) {
      this.again = true;
      return;
    }
    this.writing = this.writeOnce().finally(() => {
      this.writing = null;
      if (this.again) {
        this.again = false;
        this.write();
      }
    });
  }

  private async writeOnce(): Promise<void> {
    try {
      await writeStatusFile(this.o.file, this.snapshot());
      if (this.failing) this.o.log.info({ event: 'status.write_ok', file: this.o.file }, 'status file written again');
      this.failing = false;
    } catch (e) {
      // Once per run of failures: a read-only or full disk would otherwise log every 30 s.
      if (!this.failing) this.o.log.warn({ event: 'status.write_failed', file: this.o.file, error: (e as Error).message }, 'cannot write the status file; `uzpgw status` will not see this gateway (carrying on)');
      this.failing = true;
    }
  }

  private iso(): string {
    return new Date(this.now()).toISOString();
  }
}
