// Freshness (OI §11.4; docs/PROFILE.md §Freshness): after a collector accepts an announcement, the
// gateway tells it which of the digests it announced last time (and had accepted) have changed
// since — the catalogue after slots were added or removed, the config after any edit — with one
// `fresh` message each, then remembers the new ones (files/announced-digests.ts). The first
// announcement to a collector signals nothing: there is no "before". Digests only change across a
// restart (the config is read once), so this runs once per session, right after the verdict.

import type { Logger } from 'pino';
import { announcedDigestsFileOf, MAX_ANNOUNCED, readAnnouncedDigests, writeAnnouncedDigests, type AnnouncedDigests } from '../../files/announced-digests.js';
import type { PublishMessage } from '../../hil/publish-messages.js';
import { toHex } from '../../uzp/bytes.js';

export type FreshMessage = Extract<PublishMessage, { t: 'fresh' }>;

/** What this process announces: the catalogue's digest (per collector: its scope) and the config's. */
export interface CurrentDigests {
  readonly catalogue: Uint8Array;
  readonly config?: Uint8Array;
}

export class Freshness {
  private readonly file: string;
  private list: AnnouncedDigests[];

  constructor(
    identityKey: string,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.file = announcedDigestsFileOf(identityKey);
    try {
      this.list = readAnnouncedDigests(this.file);
    } catch (e) {
      this.logger.warn({ event: 'publish.announced_unreadable', file: this.file, reason: (e as Error).message }, 'announced digests unreadable: no freshness signal this time');
      this.list = [];
    }
  }

  /** The `fresh` messages owed to `collector` (hex CID): each digest that differs from its last accepted announcement. */
  changes(collector: string, current: CurrentDigests): FreshMessage[] {
    const before = this.list.find((a) => a.collector === collector);
    if (before === undefined) return [];
    const at_ms = this.now();
    const out: FreshMessage[] = [];
    if (before.catalogue !== toHex(current.catalogue)) out.push({ t: 'fresh', what: 'catalogue', digest: current.catalogue, at_ms });
    if (current.config !== undefined && before.config !== undefined && before.config !== toHex(current.config)) out.push({ t: 'fresh', what: 'config', digest: current.config, at_ms });
    return out;
  }

  /** `collector` accepted an announcement of `current` (and was told what changed): remembered, in memory and on disk. */
  announced(collector: string, current: CurrentDigests): void {
    const entry: AnnouncedDigests = { collector, catalogue: toHex(current.catalogue), ...(current.config !== undefined ? { config: toHex(current.config) } : {}), at: new Date(this.now()).toISOString() };
    const old = this.list.find((a) => a.collector === collector);
    if (old !== undefined && old.catalogue === entry.catalogue && old.config === entry.config) return;
    this.list = [...this.list.filter((a) => a.collector !== collector), entry].slice(-MAX_ANNOUNCED);
    try {
      writeAnnouncedDigests(this.file, this.list);
    } catch (e) {
      // Kept in memory: after a restart the change is not signalled, nothing worse.
      this.logger.warn({ event: 'publish.announced_unwritable', file: this.file, reason: (e as Error).message }, 'cannot write the announced digests');
    }
  }
}
