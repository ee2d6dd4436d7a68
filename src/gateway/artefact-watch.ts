// Live artefacts of the running gateway (issue #11; draft §11.1). A renewed RN Set Statement,
// revocation list or PCert reaches the gateway without a restart, by any of:
//   - its file being replaced or changed (the directory is watched: src/files/watch.ts);
//   - SIGHUP (reload(): every configured file again), for filesystems a watch does not see;
//   - an RN offering it on the attached link (CONTROL ARTEFACT, forwarded by the LinkManager);
//   - an RN of the expired statement, dialled for that alone (artefact-recovery.ts).
// All of them go through one ArtefactIntake, hence one adoption rule (src/uzp/artefacts/adopt.ts).
// A newly adopted RN Set Statement nudges the LinkManager to try now rather than wait out its
// backoff: a gateway whose statement expired is back as soon as a renewed one arrives.

import type { Logger } from 'pino';
import { watchFiles } from '../files/watch.js';
import type { Clock } from '../lib/clock.js';
import type { CodedError } from '../lib/errors.js';
import type { TrustStore } from '../uzp/artefacts/trust.js';
import type { Envelope } from '../uzp/artefacts/types.js';
import { ArtefactIntake, type IntakeKind, type IntakeResult } from './artefact-intake.js';
import { ArtefactRecovery, type RecoveryLinks } from './artefact-recovery.js';
import type { OwnPCert } from './own-pcert.js';
import type { RefusalCounts } from './status-gather.js';

/** The artefact files the gateway config names. */
export interface ArtefactFiles {
  readonly rnSet: string;
  readonly revocations: readonly string[];
  readonly pcert: string;
}

/** What this needs of the LinkManager (or a pool of them). */
export interface ArtefactLinks extends RecoveryLinks {
  on(event: 'up', cb: (link: unknown) => void): unknown;
  on(event: 'down', cb: (err: CodedError | undefined) => void): unknown;
  on(event: 'artefact', cb: (bytes: Uint8Array) => void): unknown;
  off(event: 'up', cb: (link: unknown) => void): unknown;
  off(event: 'down', cb: (err: CodedError | undefined) => void): unknown;
  off(event: 'artefact', cb: (bytes: Uint8Array) => void): unknown;
  /** Attach now instead of waiting out the reconnect backoff (no-op while attached). */
  retryNow(): void;
  /** The attached link, to name the RN an artefact came from. */
  readonly link: { readonly address: string } | null;
}

interface ArtefactWatchOptions {
  readonly trust: TrustStore;
  readonly pcert: OwnPCert;
  /** Our identity seed, for the recovery link (its PCert is always the one in force). */
  readonly seed: Uint8Array;
  readonly files: ArtefactFiles;
  readonly links: ArtefactLinks;
  readonly log: Logger;
  readonly clock?: Clock;
  /** RN Set role the RNs must have (as for the LinkManager). */
  readonly rnRole?: string;
  /** Counts what RNs offered and was refused (the status file's `refused`). */
  readonly refusals?: RefusalCounts;
}

export class ArtefactWatch {
  private readonly intake: ArtefactIntake;
  private readonly recovery: ArtefactRecovery;
  private stopWatching: (() => void) | null = null;
  private onAdopted: (kind: IntakeKind, artefact: Envelope<unknown>) => void = () => {};

  constructor(private readonly o: ArtefactWatchOptions) {
    this.intake = new ArtefactIntake({
      trust: o.trust,
      pcert: o.pcert,
      log: o.log,
      ...(o.clock !== undefined ? { clock: o.clock } : {}),
      ...(o.refusals !== undefined ? { refusals: o.refusals } : {}),
      onAdopted: (kind, artefact) => {
        if (kind === 'rn-set') o.links.retryNow();
        this.onAdopted(kind, artefact);
      },
    });
    this.recovery = new ArtefactRecovery({
      trust: o.trust,
      identity: o.pcert.identity({ seed: o.seed }),
      links: o.links,
      log: o.log,
      onArtefact: (bytes, rn) => this.intake.offerFromRn(bytes, rn),
      ...(o.rnRole !== undefined ? { rnRole: o.rnRole } : {}),
      ...(o.clock !== undefined ? { clock: o.clock } : {}),
    });
  }

  /** Starts watching; `onAdopted` hears of every adoption (the gateway re-checks sessions, rewrites its status). */
  start(onAdopted: (kind: IntakeKind, artefact: Envelope<unknown>) => void): void {
    if (this.stopWatching !== null) return;
    this.onAdopted = onAdopted;
    const kinds = this.kinds();
    this.stopWatching = watchFiles([...kinds.keys()], (file) => this.intake.offerFile(kinds.get(file)!, file), {
      ...(this.o.clock !== undefined ? { clock: this.o.clock } : {}),
      onError: (dir, e) => this.o.log.warn({ event: 'artefact.watch_failed', dir, reason: e.message }, `cannot watch ${dir} for renewed artefacts; SIGHUP still reloads them`),
    });
    this.o.links.on('artefact', this.onRnArtefact);
    this.recovery.start();
  }

  stop(): void {
    this.stopWatching?.();
    this.stopWatching = null;
    this.o.links.off('artefact', this.onRnArtefact);
    this.recovery.stop();
    this.intake.stop();
  }

  /** SIGHUP: offers every configured file again; returns what became of each. */
  reload(): { file: string; kind: IntakeKind; result: IntakeResult }[] {
    return [...this.kinds()].map(([file, kind]) => ({ file, kind, result: this.intake.offerFile(kind, file) }));
  }

  private readonly onRnArtefact = (bytes: Uint8Array): void => {
    this.intake.offerFromRn(bytes, this.o.links.link?.address ?? 'attached RN');
  };

  /** Each configured file and what it holds. */
  private kinds(): Map<string, IntakeKind> {
    // Revocations first: a statement or PCert revoked by the new list is then refused, not adopted.
    const m = new Map<string, IntakeKind>();
    for (const r of this.o.files.revocations) m.set(r, 'revocation');
    m.set(this.o.files.rnSet, 'rn-set');
    m.set(this.o.files.pcert, 'pcert');
    return m;
  }
}
