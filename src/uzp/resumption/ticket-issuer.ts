// The responder's side of 0-RTT (draft §9): it issues resumption tickets in EE after a handshake
// under a Grant that allows early data, and decides, for a CH1 that presents a ticket, whether its
// early data is taken. Early data is taken only when all of these hold, cheapest first:
//   - the Grant of this CH1 (already validated by the handshake) has `ed` and not `nr`;
//   - the ticket opens under one of our ticket keys (so it is ours and from this process: a
//     restarted responder holds new keys, and no ticket from before the restart opens);
//   - it names this initiator, this responder, this Grant's object_id and the suite chosen now,
//     and has not expired;
//   - the Grant's nonce is not below the highest seen for (issuer, initiator, us) (nonce 'track');
//   - the early record decrypts under the key of this exact CH1 (early-keys.ts);
//   - and only then the strike register admits the ticket id for the first time (single use).
// Anything else: the early data is ignored (never an error: the handshake goes on at 1-RTT and the
// initiator sends again what it sent early), with the reason for the log.

import type { Grant, Valid } from '../artefacts/types.js';
import { equal } from '../bytes.js';
import type { CryptoProvider } from '../crypto/provider.js';
import type { HandshakeTrust } from '../handshake/common.js';
import { decodeEarlyMessages, MAX_EARLY_DATA, openEarly, type EarlyAnswer, type EarlyMessage } from './early-data.js';
import { earlyTrafficKey, ticketPsk } from './early-keys.js';
import { StrikeRegister } from './strike-register.js';
import { MAX_TICKET_LIFETIME_MS, TICKET_ID_LENGTH, TICKET_LENGTH, TicketKeys } from './ticket.js';

/** Default ticket lifetime: an operator reconnecting within the hour resumes. */
export const DEFAULT_TICKET_LIFETIME_MS = 3600_000;

export interface TicketIssuerOptions {
  readonly provider: CryptoProvider;
  readonly lifetimeMs?: number;
  /** Wall clock, ms (tickets carry absolute times). */
  readonly now?: () => number;
  readonly keys?: TicketKeys;
  readonly strike?: StrikeRegister;
}

/** What the handshake knows when it asks (responder.ts). */
export interface EarlyContext {
  /** EXT_EARLY_DATA data from CH1: empty (asks for a ticket) or a ticket (resumption). */
  readonly ext: Uint8Array;
  /** The exact CH1 bytes (early keys are bound to them). */
  readonly ch1: Uint8Array;
  /** The early record that came with the CH1 (EARLY_CH1), if any. */
  readonly early: Uint8Array | undefined;
  readonly suite: { readonly id: number; readonly aead: 'chacha20-poly1305' | 'aes-256-gcm' };
  readonly grant: Valid<Grant>;
  /** The Grant envelope as forwarded, re-validated with nonce tracking before early data is taken. */
  readonly grantBytes: Uint8Array;
  readonly trust: HandshakeTrust;
  readonly initiator: Uint8Array;
  readonly responder: Uint8Array;
  /** This session's resumption master (early-keys.ts resumptionMaster). */
  readonly resMaster: Uint8Array;
}

export interface EarlyDecision {
  /** The EE extension data. */
  readonly answer: EarlyAnswer;
  /** The early messages taken (empty unless answer.accepted). */
  readonly messages: readonly EarlyMessage[];
  /** Why early data that came was not taken (for the log); undefined when taken or none came. */
  readonly refused?: string;
}

export class TicketIssuer {
  private readonly p: CryptoProvider;
  private readonly keys: TicketKeys;
  readonly strike: StrikeRegister;
  private readonly lifetimeMs: number;
  private readonly now: () => number;
  /** When the current ticket key began to seal (wall ms); it is replaced a ticket lifetime later. */
  private keySince: number | undefined;

  constructor(o: TicketIssuerOptions) {
    this.p = o.provider;
    this.keys = o.keys ?? new TicketKeys(o.provider);
    this.strike = o.strike ?? new StrikeRegister();
    this.lifetimeMs = Math.min(o.lifetimeMs ?? DEFAULT_TICKET_LIFETIME_MS, MAX_TICKET_LIFETIME_MS);
    this.now = o.now ?? Date.now;
  }

  /** A new ticket key; tickets under the one before still open until the next rotation. */
  rotate(): void {
    this.keys.rotate();
  }

  decide(c: EarlyContext): EarlyDecision {
    const eligible = c.grant.body.earlyData && !c.grant.body.noReplay;
    const ticket = eligible ? this.issue(c) : undefined;
    const answer = (accepted: boolean): EarlyAnswer => (ticket === undefined ? { accepted } : { accepted, ticket });
    const now = this.now();
    // A ticket presented in a CH1 (which its initiator signed) is used up here, whatever comes with
    // it: an RN that stripped or altered the early record (the initiator then sends those messages
    // again as 1-RTT data) must not be able to replay the JOIN it captured later and have them run a
    // second time. Only a ticket this responder sealed, for these two endpoints, is recorded: junk
    // cannot fill the register.
    const s = c.ext.length === TICKET_LENGTH ? this.keys.open(c.ext) : undefined;
    const bound = s !== undefined && equal(s.initiatorCid, c.initiator) && equal(s.responderCid, c.responder);
    const verdict = bound ? this.strike.admit(s.ticketId, s.expiresMs, now) : undefined;
    if (c.early === undefined) return { answer: answer(false), messages: [], ...(c.ext.length > 0 ? { refused: 'a ticket without early data' } : {}) };
    const refuse = (why: string): EarlyDecision => ({ answer: answer(false), messages: [], refused: why });
    if (!eligible) return refuse(c.grant.body.noReplay ? 'the Grant is no-replay' : 'the Grant does not allow early data');
    if (c.ext.length !== TICKET_LENGTH) return refuse('no ticket in CH1');
    if (s === undefined) return refuse('a ticket this responder cannot open (another responder, or issued before a restart)');
    if (!bound) return refuse('the ticket was issued to other endpoints');
    if (!equal(s.grantId, c.grant.objectId)) return refuse('the ticket was issued under another Grant');
    if (s.suite !== c.suite.id) return refuse('the ticket was issued for another suite');
    if (s.expiresMs <= now) return refuse('the ticket has expired');
    if (verdict !== 'fresh') return refuse(verdict === 'replayed' ? 'the ticket was used before (replay)' : `strike register: ${verdict ?? 'not checked'}`);
    try {
      c.trust.validateGrant(c.grantBytes, { audience: c.responder, subject: c.initiator, nonce: 'track' });
    } catch (e) {
      return refuse(`the Grant's nonce: ${(e as Error).message}`);
    }
    const plain = openEarly(this.p, c.suite.aead, earlyTrafficKey(this.p, s.psk, c.ch1), c.early);
    if (plain === null) return refuse('the early record does not decrypt under the key of this CH1');
    if (plain.length > Math.min(s.maxEarlyData, MAX_EARLY_DATA)) return refuse('more early data than the ticket allows');
    let messages: EarlyMessage[];
    try {
      messages = decodeEarlyMessages(plain);
    } catch (e) {
      return refuse(`malformed early data: ${(e as Error).message}`);
    }
    return { answer: answer(true), messages };
  }

  private issue(c: EarlyContext): EarlyAnswer['ticket'] {
    const now = this.now();
    // A new ticket key every ticket lifetime: the previous one still opens the tickets it sealed
    // until they expire, and a process memory read later than two lifetimes reveals no live ticket.
    if (this.keySince === undefined) this.keySince = now;
    else if (now - this.keySince >= this.lifetimeMs) {
      this.keys.rotate();
      this.keySince = now;
    }
    const ticketId = this.p.randomBytes(TICKET_ID_LENGTH);
    const ticket = this.keys.seal({
      ticketId,
      issuedMs: now,
      expiresMs: now + this.lifetimeMs,
      suite: c.suite.id,
      initiatorCid: c.initiator,
      responderCid: c.responder,
      grantId: c.grant.objectId,
      psk: ticketPsk(this.p, c.resMaster, ticketId),
      maxEarlyData: MAX_EARLY_DATA,
    });
    return { lifetimeS: Math.floor(this.lifetimeMs / 1000), ticketId, ticket };
  }
}
