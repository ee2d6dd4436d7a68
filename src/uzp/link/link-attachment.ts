// One RnLink's attachment while it is made (docs/PROFILE.md §Attachment, §1-RTT attachment): HELLO
// queued before the connection is up, the RN's answers (HELLO_R, OK, REFUSED), the one fallback of
// a failed 1-RTT attempt to the full attachment on a new connection, the JOINs asked for meanwhile
// (attaching-joins.ts), and the attachment's deadline and abort. Which attachment to make is
// attach-choice.ts's, the protocol steps are attach.ts's and attach-1rtt.ts's; once attached the
// link (rn-link.ts) takes over.

import type { Clock } from '../../lib/clock.js';
import { StateError, type CodedError } from '../../lib/errors.js';
import { ErrorCode, ProtocolError } from '../errors.js';
import { CONTROL_AD, type AttachInitiator, type InitiatorResult } from './attach.js';
import { Attach1Initiator } from './attach-1rtt.js';
import type { AttachChoice } from './attach-choice.js';
import { AttachingJoins } from './attaching-joins.js';
import { FrameType } from './constants.js';
import type { ControlMessage } from './control.js';
import { encodeFrame, type Frame } from './frame.js';
import type { LinkSocket } from './link-socket.js';
import { decodeRefused } from './messages.js';

interface LinkAttachmentOptions {
  readonly address: string;
  readonly clock: Clock;
  /** Aborts the attachment (RnLinkOptions.signal). */
  readonly signal: AbortSignal | undefined;
  /** Connect + attach deadline. */
  readonly timeoutMs: number;
}

/** What a LinkAttachment asks of its link. */
interface LinkAttachmentHost {
  /** The link's connection (opened after the first attempt's initiator was chosen). */
  conn(): LinkSocket;
  /** Sends on the attached link. */
  sendControl(m: ControlMessage): void;
  /** The attachment failed (its deadline, an abort): the link ends. */
  failed(e: CodedError): void;
}

export class LinkAttachment {
  /** JOINs asked for while attaching. */
  readonly joins: AttachingJoins;
  /** The 1-RTT attachment when this process attached to this address before (attach-1rtt.ts). */
  private initiator: AttachInitiator | Attach1Initiator;
  private readonly timers: (() => void)[] = [];

  constructor(
    private readonly choice: AttachChoice,
    private readonly o: LinkAttachmentOptions,
    private readonly h: LinkAttachmentHost,
  ) {
    this.joins = new AttachingJoins({
      early: () => this.initiator.afterAuth(),
      oneRtt: () => this.initiator instanceof Attach1Initiator,
      writeControl: (send, body) => void h.conn().writeControl(encodeFrame(FrameType.CONTROL, send.seal(body, CONTROL_AD))),
      sendControl: (m) => h.sendControl(m),
    });
    this.initiator = choice.first();
  }

  /** Arms the deadline and the abort, and sends HELLO; an aborted signal fails the attachment at once. */
  start(): void {
    const signal = this.o.signal;
    if (signal?.aborted) {
      this.h.failed(new StateError(ErrorCode.LINK_CLOSED, 'RN link: attach aborted', { cause: signal.reason }));
      return;
    }
    const onAbort = (): void => this.h.failed(new StateError(ErrorCode.LINK_CLOSED, 'RN link: attach aborted', { cause: signal?.reason }));
    signal?.addEventListener('abort', onAbort, { once: true });
    this.timers.push(() => signal?.removeEventListener('abort', onAbort));
    const ms = this.o.timeoutMs;
    this.timers.push(this.o.clock.setTimeout(() => this.h.failed(new ProtocolError(ErrorCode.LINK_TIMEOUT, `RN link ${this.o.address}: no attachment within ${ms} ms`)), ms));
    this.sendHello();
  }

  /** Attached or ended: the deadline and the abort listener go. */
  stop(): void {
    for (const t of this.timers.splice(0)) t();
  }

  /** A frame while attaching: the RN's answer, or a throw that ends the attempt. The result once attached. */
  onFrame(f: Frame): InitiatorResult | undefined {
    switch (f.type) {
      case FrameType.HELLO_R: {
        const init = this.initiator;
        if (init instanceof Attach1Initiator) {
          const { confirm, result } = init.onHelloR(f.payload);
          this.h.conn().write(encodeFrame(FrameType.AUTH, confirm));
          this.joins.answered();
          return this.attached(result);
        }
        this.h.conn().write(encodeFrame(FrameType.AUTH, init.onHelloR(f.payload)));
        this.joins.keyKnown();
        return undefined;
      }
      case FrameType.OK: {
        if (this.initiator instanceof Attach1Initiator) throw new ProtocolError(ErrorCode.HANDSHAKE_UNEXPECTED, 'RN link: OK in a 1-RTT attachment');
        return this.attached(this.initiator.onOk(f.payload));
      }
      case FrameType.REFUSED:
        throw new ProtocolError(ErrorCode.ATTACH_REFUSED, `RN ${this.o.address} refused the attachment (code ${decodeRefused(f.payload)})`, 'policy');
      default:
        throw new ProtocolError(ErrorCode.HANDSHAKE_UNEXPECTED, `RN link: unexpected frame 0x${f.type.toString(16)} during attachment`);
    }
  }

  /**
   * A 1-RTT attempt failed before the RN answered it (REFUSED: its window, a restart, a key it no
   * longer holds, or an RN without the 1-RTT attachment; or the connection closed): forget the key
   * and attach the full way on a new connection, with the JOINs that rode in the first flight sent
   * again behind AUTH. Once per link; never after a timeout or an abort. Says whether it fell back.
   */
  fellBack(err: CodedError | undefined): boolean {
    if (!(this.initiator instanceof Attach1Initiator) || !this.h.conn().connected || err === undefined || err.code === ErrorCode.LINK_TIMEOUT || this.o.signal?.aborted === true) return false;
    this.choice.failed();
    this.initiator = this.choice.full();
    this.joins.fellBack();
    this.h.conn().reopen();
    this.sendHello();
    return true;
  }

  /**
   * HELLO, queued at once, before the connection is up (node sends it on connect), so that it leaves
   * first, ahead of the JOIN an Endpoint makes on this turn. CH1 is built meanwhile, not after the
   * connect: over a network the TCP handshake takes longer than CH1, and on one box an RN woken by
   * HELLO would run on our core and hold CH1 back by its HELLO work (~1 ms measured, docs/BENCH.md).
   */
  private sendHello(): void {
    this.h.conn().write(encodeFrame(FrameType.HELLO, this.initiator.hello()));
    // 1-RTT: the EP's control key is known with HELLO, so its JOINs leave right behind it.
    if (this.initiator instanceof Attach1Initiator) this.joins.keyKnown();
  }

  /** OK (full attachment) or HELLO_R (1-RTT): the RN's key is remembered for the next attachment here. */
  private attached(r: InitiatorResult): InitiatorResult {
    this.choice.attached(r.rnPublicKey);
    return r;
  }
}
