// The one path by which a running gateway takes in a renewed artefact, whatever brought it: one of
// its files (changed on disk, or SIGHUP) or an RN (CONTROL ARTEFACT, draft §11.1). Each offer goes
// through the adoption rule (src/uzp/artefacts/adopt.ts: valid now, signed by the domain root,
// newer by epoch/sequence precedence; never older, never a conflicting one) and is logged:
//   artefact.adopted   (info)  what was adopted, from where, and what it replaced;
//   artefact.refused   (warn)  the code, the reason, and what to do about it;
//   artefact.unchanged (debug) the one in force, again.
// The same refusal from the same source is logged at debug after its first time, so a file left
// as it is, or an RN that keeps offering the same old statement (or junk), does not fill the journal.
// An adoption is handed to `onAdopted` (the gateway reconnects, re-checks sessions, rewrites its
// status file).

import { readArtefactFile } from '../files/artefact-file.js';
import { isCodedError, type CodedError } from '../lib/errors.js';
import { isoSeconds } from '../lib/time-text.js';
import type { Adoption } from '../uzp/artefacts/adopt.js';
import { decodeEnvelope } from '../uzp/artefacts/envelope.js';
import type { Envelope, PCert, Revocation, RnSet, Valid } from '../uzp/artefacts/types.js';
import { toHex } from '../uzp/bytes.js';
import type { CryptoProvider } from '../uzp/crypto/provider.js';
import { ErrorCode, ValidationError } from '../uzp/errors.js';
import { refusalAdvice } from './artefact-advice.js';
import type { OwnPCert } from './own-pcert.js';

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
  /** Per source and kind: the last outcome logged above debug (code and digest), to keep repeats quiet. */
  private readonly lastSaid = new Map<string, string>();

  constructor(private readonly o: IntakeOptions) {}

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
      return this.refused('artefact', { rn }, new ValidationError(ErrorCode.ARTEFACT_TYPE, `an RN offered a ${type} artefact; only RN Set Statements and revocation lists are taken from RNs`), bytes);
    }
    return this.offer(type as IntakeKind, bytes, { rn });
  }

  private offer(kind: IntakeKind, bytes: Uint8Array, source: IntakeSource): IntakeResult {
    const t = this.o.trust;
    const a: Adoption<Envelope<unknown>> =
      kind === 'rn-set' ? t.offerRnSet(bytes) : kind === 'revocation' ? t.offerRevocation(bytes) : t.offerPCert(this.o.pcert.valid, bytes);
    const origin = 'file' in source ? { source: 'file', file: source.file } : { source: 'rn', rn: source.rn };
    if (a.outcome === 'refused') return this.refused(kind, source, a.error, bytes);
    this.lastSaid.delete(`${where(source)}|${kind}`);
    if (a.outcome === 'unchanged') {
      this.o.log.debug({ event: 'artefact.unchanged', artefact: kind, ...origin, ...describe(a.artefact) }, `${kind} from ${where(source)} is the one in force`);
      return { outcome: 'unchanged' };
    }
    if (kind === 'pcert') this.o.pcert.replace(a.artefact as Valid<PCert>);
    this.o.log.info(
      { event: 'artefact.adopted', artefact: kind, ...origin, ...describe(a.artefact), ...(a.previous !== undefined ? { previous: describe(a.previous) } : {}) },
      `${kind} epoch ${a.artefact.epoch} sequence ${a.artefact.sequence} adopted from ${where(source)}; valid until ${isoSeconds(a.artefact.expiresAt * 1000)}`,
    );
    this.o.onAdopted(kind, a.artefact);
    return { outcome: 'adopted' };
  }

  private refused(kind: IntakeKind | 'artefact', source: IntakeSource, e: CodedError, bytes: Uint8Array | undefined): IntakeResult {
    const key = `${where(source)}|${kind}`;
    // A file's new content is news even with the same code; an RN is judged by its codes alone, so
    // one that sends junk in a loop costs a debug line per message, never a warning each.
    const said = 'rn' in source ? e.code : `${e.code}|${bytes !== undefined ? toHex(this.o.trust.provider.blake3(bytes)) : e.message}`;
    const repeat = this.lastSaid.get(key) === said;
    this.lastSaid.set(key, said);
    const advice = refusalAdvice(kind, source, e.code);
    const origin = 'file' in source ? { source: 'file', file: source.file } : { source: 'rn', rn: source.rn };
    const line = { event: 'artefact.refused', artefact: kind, ...origin, code: e.code, reason: e.message, advice };
    const msg = `${kind} from ${where(source)} refused (${e.code}): ${advice}`;
    if (repeat) this.o.log.debug(line, msg);
    else this.o.log.warn(line, msg);
    return { outcome: 'refused', code: e.code };
  }
}
