// Which attachment an RnLink makes (docs/PROFILE.md §1-RTT attachment): the 1-RTT one where this
// process attached to the same address before and that RN's key is still eligible (its HELLO made
// ahead if there is one), the full one otherwise and after a 1-RTT attempt failed. After an
// attachment it remembers the key that answered and makes the next HELLO ahead, on a later and
// likely idle moment (rn-keys.ts).

import { equal, toHex } from '../bytes.js';
import type { Signer } from '../crypto/provider.js';
import { wallMs, type Clock } from '../../lib/clock.js';
import { AttachInitiator, type InitiatorTrust } from './attach.js';
import { Attach1Initiator } from './attach-1rtt.js';
import { ATTACH1_MADE_AHEAD_DELAY_MS } from './constants.js';
import { forgetRnKey, knownRnKey, putMadeAhead, rememberRnKey, takeMadeAhead } from './rn-keys.js';

interface AttachChoiceOptions {
  readonly address: string;
  readonly trust: InitiatorTrust;
  readonly identity: { readonly signer: Signer; readonly pcert: Uint8Array; readonly pcertId: Uint8Array };
  readonly rnRole?: string;
  /** The RN the RN Set Statement lists at `address` (RnLinkOptions.expectRn). */
  readonly expectRn?: Uint8Array;
  /** false: always the full attachment (RnLinkOptions.oneRtt). */
  readonly oneRtt?: boolean;
  readonly clock: Clock;
}

export class AttachChoice {
  private readonly who: string;

  constructor(private readonly o: AttachChoiceOptions) {
    this.who = toHex(o.identity.pcertId);
  }

  /** The first attempt's initiator. */
  first(): AttachInitiator | Attach1Initiator {
    const rn = this.o.oneRtt === false ? undefined : knownRnKey(this.o.address);
    if (rn === undefined) return this.full();
    // The key that answered here before is not the one the RN set lists here now: attach the full
    // way, which checks the one that answers (a 1-RTT HELLO sealed to the old key would attach to
    // that other RN again, if it still answers here).
    if (this.o.expectRn !== undefined && !equal(rn.publicKey, this.o.expectRn)) {
      forgetRnKey(this.o.address);
      return this.full();
    }
    const made = takeMadeAhead(this.o.address, this.who, wallMs(this.o.clock));
    if (made !== undefined && (this.o.expectRn === undefined || equal(made.rnPublicKey, this.o.expectRn))) return made;
    return this.oneRtt(rn) ?? this.full();
  }

  full(): AttachInitiator {
    const { signer, pcert, pcertId } = this.o.identity;
    return new AttachInitiator({
      trust: this.o.trust,
      signer,
      pcert,
      pcertObjectId: pcertId,
      ...(this.o.rnRole !== undefined ? { rnRole: this.o.rnRole } : {}),
      ...(this.o.expectRn !== undefined ? { expectRn: { publicKey: this.o.expectRn, address: this.o.address } } : {}),
    });
  }

  /** A 1-RTT attempt failed before the RN answered it: the next one here is a full attachment. */
  failed(): void {
    forgetRnKey(this.o.address);
  }

  /** The link attached with `rnPublicKey`: remembered, and the next HELLO made ahead. */
  attached(rnPublicKey: Uint8Array): void {
    rememberRnKey(this.o.address, rnPublicKey);
    if (this.o.oneRtt === false) return;
    this.o.clock.setTimeout(
      () => {
        const rn = knownRnKey(this.o.address);
        const next = rn === undefined ? undefined : this.oneRtt(rn);
        if (next !== undefined) putMadeAhead(this.o.address, this.who, next);
      },
      ATTACH1_MADE_AHEAD_DELAY_MS,
      { unref: true },
    );
  }

  private oneRtt(rn: { publicKey: Uint8Array; x25519: Uint8Array }): Attach1Initiator | undefined {
    const { signer, pcert, pcertId } = this.o.identity;
    try {
      return new Attach1Initiator({
        trust: this.o.trust,
        signer,
        pcert,
        pcertObjectId: pcertId,
        rnPublicKey: rn.publicKey,
        rnX25519: rn.x25519,
        nowMs: () => wallMs(this.o.clock),
        ...(this.o.rnRole !== undefined ? { rnRole: this.o.rnRole } : {}),
      });
    } catch {
      forgetRnKey(this.o.address); // no longer in the RN Set Statement: the full attachment decides
      return undefined;
    }
  }
}
