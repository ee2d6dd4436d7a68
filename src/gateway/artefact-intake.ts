// The one path by which a running gateway takes in a renewed artefact, whatever brought it: one of
// its files (changed on disk, or SIGHUP) or an RN (CONTROL ARTEFACT, draft §11.1). Each offer goes
// through the adoption rule (src/uzp/artefacts/adopt.ts: valid now, signed by the domain root,
// newer by epoch/sequence precedence; never older, never a conflicting one) and is logged:
//   artefact.adopted   (info)  what was adopted, from where, and what it replaced;
//   artefact.refused   (warn)  the code, the reason, and what to do about it;
//   artefact.unchanged (debug) the one in force, again.
//   artefact.refused_suppressed (warn)  from an RN: how many refusals were not said one by one.
// A file: the same refusal again (same code, same content) is logged at debug, so a file left as it
// is does not fill the journal. An RN: what it sends is its choice, so the lines are bounded
// whatever it sends (src/lib/repeat-limiter.ts): the first of each code and kind in full, the rest
// counted, one summary a minute, each at debug too. Only remembering the last code let an RN
// alternating junk and a PCert cause 36,080 warnings in 20 s.
// An adoption is handed to `onAdopted` (the gateway reconnects, re-checks sessions, rewrites its
// status file).

import { readArtefactFile } from '../files/artefact-file.js';
import { systemClock, type Clock } from '../lib/clock.js';
import { isCodedError, type CodedError } from '../lib/errors.js';
import { RepeatLimiter, type RepeatSummary } from '../lib/repeat-limiter.js';
import { isoSeconds } from '../lib/time-text.js';
import type { Adoption } from '../uzp/artefacts/adopt.js';
import { withArticle } from '../uzp/artefacts/constants.js';
import { decodeEnvelope } from '../uzp/artefacts/envelope.js';
import type { Envelope, PCert, Revocation, RnSet, Valid } from '../uzp/artefacts/types.js';
import { toHex } from '../uzp/bytes.js';
import type { CryptoProvider } from '../uzp/crypto/provider.js';
import { ErrorCode, ValidationError } from '../uzp/errors.js';
import { refusalAdvice } from './artefact-advice.js';
import type { OwnPCert } from './own-pcert.js';
import type { RefusalCounts } from './status-gather.js';
import { warnSharedRnAddress } from './rnset-shared-address.js';

/** How often an RN whose refusals were counted gets its artefact.refused_suppressed line. */
export const ARTEFACT_REFUSAL_SUMMARY_MS = 60_000;

export type IntakeKind = 'rn-set' | 'revocation' | 'pcert';

/** Where an offered artefact came from: a configured file, or the RN at an address. */
export type IntakeSource = { readonly file: string } | { readonly rn: string };

/** The part of TrustStore the intake uses. */
interface IntakeTrust {
  readonly provider: CryptoProvider;
  offerRnSet(bytes: Uint8Array): Adoption<RnSet>;
  offerRevocation(bytes: Uint8Array): Adoption<Revocation>;
  offerPCert(installed: Valid<PCert>, bytes: Uint8Array): Adoption<PCert>;
}

interface IntakeLog {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

interface IntakeOptions {
  readonly trust: IntakeTrust;
  readonly pcert: OwnPCert;
  readonly log: IntakeLog;
  readonly onAdopted: (kind: IntakeKind, artefact: Envelope<unknown>) => void;
  /** Times the summaries of RN refusals (default: the system clock). */
  readonly clock?: Clock;
  /** Counts the refusals of what RNs offered (status `refused.artefacts_from_rn`). */
  readonly refusals?: RefusalCounts;
}

export type IntakeResult = { readonly outcome: 'adopted' | 'unchanged' } | { readonly outcome: 'refused'; readonly code: string };

/** The kinds an RN may offer: what it holds for the whole domain, never a PCert. */
const FROM_RN: ReadonlySet<string> = new Set(['rn-set', 'revocation']);

function describe(e: Envelope<unknown>): object {
  return { object_id: toHex(e.objectId), epoch: e.epoch, sequence: e.sequence, expires_at: isoSeconds(e.expiresAt * 1000) };
}

function where(s: IntakeSource): string {
  return 'file' in s ? s.file : `RN ${s.rn}`;
}

export class ArtefactIntake {
  /** Per configured file and kind: the last outcome logged above debug (code and digest), to keep repeats quiet. */
  private readonly lastSaid = new Map<string, string>();
  /** What RNs offered and was refused: lines bounded per RN (src/lib/repeat-limiter.ts). */
  private readonly fromRn: RepeatLimiter;

  constructor(private readonly o: IntakeOptions) {
    this.fromRn = new RepeatLimiter({ clock: o.clock ?? systemClock, intervalMs: ARTEFACT_REFUSAL_SUMMARY_MS, onSummary: (s) => this.summary(s) });
  }

  /** Says the RN refusals counted since the last summary (the gateway stopping). */
  stop(): void {
    this.fromRn.stop();
  }

  /** Reads `file` and offers it as `kind` (a read error is a refusal like any other). */
  offerFile(kind: IntakeKind, file: string): IntakeResult {
    let bytes: Uint8Array;
    try {
      bytes = readArtefactFile(file);
    } catch (e) {
      if (!isCodedError(e)) throw e;
      return this.refused(kind, { file }, e, undefined);
    }
    return this.offer(kind, bytes, { file });
  }

  /** Offers what an RN sent (unverified bytes): only an RN Set Statement or a revocation list. */
  offerFromRn(bytes: Uint8Array, rn: string): IntakeResult {
    let type: string;
    try {
      type = decodeEnvelope(this.o.trust.provider, bytes).type;
    } catch (e) {
      if (!isCodedError(e)) throw e;
      return this.refused('artefact', { rn }, e, bytes);
    }
    if (!FROM_RN.has(type)) {
      return this.refused('artefact', { rn }, new ValidationError(ErrorCode.ARTEFACT_TYPE, `an RN offered ${withArticle(type)} artefact; only RN Set Statements and revocation lists are taken from RNs`), bytes);
    }
    return this.offer(type as IntakeKind, bytes, { rn });
  }

  private offer(kind: IntakeKind, bytes: Uint8Array, source: IntakeSource): IntakeResult {
    const t = this.o.trust;
    const a: Adoption<Envelope<unknown>> =
      kind === 'rn-set' ? t.offerRnSet(bytes) : kind === 'revocation' ? t.offerRevocation(bytes) : t.offerPCert(this.o.pcert.valid, bytes);
    const origin = 'file' in source ? { source: 'file', file: source.file } : { source: 'rn', rn: source.rn };
    if (a.outcome === 'refused') return this.refused(kind, source, a.error, bytes);
    if ('file' in source) this.lastSaid.delete(`${source.file}|${kind}`);
    if (a.outcome === 'unchanged') {
      this.o.log.debug({ event: 'artefact.unchanged', artefact: kind, ...origin, ...describe(a.artefact) }, `${kind} from ${where(source)} is the one in force`);
      return { outcome: 'unchanged' };
    }
    if (kind === 'pcert') this.o.pcert.replace(a.artefact as Valid<PCert>);
    this.o.log.info(
      { event: 'artefact.adopted', artefact: kind, ...origin, ...describe(a.artefact), ...(a.previous !== undefined ? { previous: describe(a.previous) } : {}) },
      `${kind} epoch ${a.artefact.epoch} sequence ${a.artefact.sequence} adopted from ${where(source)}; valid until ${isoSeconds(a.artefact.expiresAt * 1000)}`,
    );
    if (kind === 'rn-set') warnSharedRnAddress(this.o.log, a.artefact as RnSet, where(source));
    this.o.onAdopted(kind, a.artefact);
    return { outcome: 'adopted' };
  }

  private refused(kind: IntakeKind | 'artefact', source: IntakeSource, e: CodedError, bytes: Uint8Array | undefined): IntakeResult {
    const advice = refusalAdvice(kind, source, e.code);
    const origin = 'file' in source ? { source: 'file', file: source.file } : { source: 'rn', rn: source.rn };
    const line = { event: 'artefact.refused', artefact: kind, ...origin, code: e.code, reason: e.message, advice };
    const msg = `${kind} from ${where(source)} refused (${e.code}): ${advice}`;
    if (this.sayInFull(kind, source, e, bytes)) this.o.log.warn(line, msg);
    else this.o.log.debug(line, msg);
    return { outcome: 'refused', code: e.code };
  }

  private sayInFull(kind: IntakeKind | 'artefact', source: IntakeSource, e: CodedError, bytes: Uint8Array | undefined): boolean {
    if ('rn' in source) {
      if (this.o.refusals !== undefined) this.o.refusals.artefacts++;
      return this.fromRn.admit(source.rn, e.code, kind);
    }
    // A file's new content is news even with the same code.
    const key = `${source.file}|${kind}`;
    const said = `${e.code}|${bytes !== undefined ? toHex(this.o.trust.provider.blake3(bytes)) : e.message}`;
    const repeat = this.lastSaid.get(key) === said;
    this.lastSaid.set(key, said);
    return !repeat;
  }

  private summary(s: RepeatSummary): void {
    const codes = Object.entries(s.codes).map(([code, n]) => `${code} ${n}`).join(', ');
    this.o.log.warn(
      { event: 'artefact.refused_suppressed', source: 'rn', rn: s.source, suppressed: s.suppressed, codes: s.codes, artefacts: s.examples, interval_s: ARTEFACT_REFUSAL_SUMMARY_MS / 1000 },
      `${s.suppressed} more artefact${s.suppressed === 1 ? '' : 's'} from RN ${s.source} refused (${codes}) not logged one by one; the first of each code was`,
    );
  }
}
