// The JOINs an RnLink is asked for while it attaches (docs/PROFILE.md §Attachment "JOIN behind AUTH"
// and §1-RTT attachment): each leaves as soon as the EP's control key is known (behind AUTH, or
// behind a 1-RTT HELLO), or on OK when it is too large for the RN's pre-auth frame limit. A JOIN
// that rode in a 1-RTT first flight is kept until the RN answered that flight, to be sent again
// behind AUTH if the EP falls back to the full attachment.

import { AEAD_TAG_LENGTH } from '../crypto/provider.js';
import type { SealingDirection } from './channel.js';
import { DEFAULT_MAX_FRAME_PREAUTH } from './constants.js';
import { encodeControl, type ControlMessage } from './control.js';

/** A JOIN waiting for the RN's CID (a continuity token binds it, draft §11.4). */
export type MakeJoin = (rn: Uint8Array) => ControlMessage;

interface AttachingJoinsHost {
  /** The EP's control key as of now (AttachInitiator / Attach1Initiator afterAuth()), or undefined. */
  early(): { readonly send: SealingDirection; readonly rnCid: Uint8Array } | undefined;
  /** The attempt in progress is a 1-RTT one. */
  oneRtt(): boolean;
  /** Writes one sealed CONTROL record (its body sealed under `send`). */
  writeControl(send: SealingDirection, body: Uint8Array): void;
  /** Sends on the attached link (after OK). */
  sendControl(m: ControlMessage): void;
}

export class AttachingJoins {
  /** Waiting for the control key. */
  private waiting: MakeJoin[] = [];
  /** Too large for the pre-auth frame limit: sent once attached (made again if the attempt falls back). */
  private afterOk: { readonly join: MakeJoin; readonly m: ControlMessage }[] = [];
  /** Sent in a 1-RTT first flight the RN has not answered yet. */
  private inFlight: MakeJoin[] = [];

  constructor(private readonly host: AttachingJoinsHost) {}

  /** A JOIN while attaching: out now if the control key is known, else when it is. */
  add(join: MakeJoin): void {
    const early = this.host.early();
    if (early === undefined) return void this.waiting.push(join);
    const m = join(early.rnCid);
    // The frame's length field (type + payload) against the limit the RN reads pre-auth frames with.
    const body = encodeControl(m);
    if (1 + body.length + AEAD_TAG_LENGTH > DEFAULT_MAX_FRAME_PREAUTH) return void this.afterOk.push({ join, m });
    if (this.host.oneRtt()) this.inFlight.push(join);
    this.host.writeControl(early.send, body);
  }

  /** The control key is known now (AUTH written, or a 1-RTT HELLO): the waiting JOINs leave. */
  keyKnown(): void {
    const queued = this.waiting;
    this.waiting = [];
    for (const join of queued) this.add(join);
  }

  /** The RN answered the 1-RTT flight: its JOINs are its. */
  answered(): void {
    this.inFlight = [];
  }

  /** The link is attached: the large JOINs leave. */
  attached(): void {
    const deferred = this.afterOk;
    this.afterOk = [];
    for (const d of deferred) this.host.sendControl(d.m);
  }

  /**
   * A 1-RTT attempt fell back: every JOIN waits for the full attachment's AUTH, the large ones too
   * (they were dropped here, and their JOIN timed out after 10 s).
   */
  fellBack(): void {
    this.waiting = [...this.inFlight, ...this.afterOk.map((d) => d.join), ...this.waiting];
    this.inFlight = [];
    this.afterOk = [];
  }
}
