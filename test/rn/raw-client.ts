// A bare-bones EP for RN tests: attaches with the real AttachInitiator over a plain socket, then
// lets a test send any frame (including forged RELAY and junk), pause reading, and await frames.
// RnLink is the real client; this one exists to misbehave on purpose.

import { connect, type Socket } from 'node:net';
import { decodeEnvelope } from '../../src/uzp/artefacts/envelope.js';
import type { TrustStore } from '../../src/uzp/artefacts/trust.js';
import { AttachInitiator, CONTROL_AD } from '../../src/uzp/link/attach.js';
import type { LinkChannel } from '../../src/uzp/link/channel.js';
import { FrameType } from '../../src/uzp/link/constants.js';
import { decodeControl, encodeControl, type ControlMessage } from '../../src/uzp/link/control.js';
import { FrameDecoder, encodeFrame, encodeRelayFrame, type Frame } from '../../src/uzp/link/frame.js';
import { parseAddress } from '../../src/uzp/link/address.js';
import type { Member } from '../helpers/domain.js';

export type Received = { type: 'control'; m: ControlMessage } | { type: 'relay'; stitchId: number; payload: Uint8Array } | { type: 'other'; frame: Frame };

export class RawClient {
  readonly received: Received[] = [];
  closed = false;
  private waiters: { match: (r: Received) => boolean; resolve: (r: Received) => void; reject: (e: Error) => void }[] = [];
  private closeWaiters: (() => void)[] = [];

  private constructor(
    readonly socket: Socket,
    private readonly decoder: FrameDecoder,
    private readonly channel: LinkChannel,
  ) {
    socket.on('data', (c: Buffer) => this.onData(c));
    socket.on('close', () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w.reject(new Error('raw client: closed'));
      for (const w of this.closeWaiters.splice(0)) w();
    });
  }

  /** Attaches `member` to the RN at `address`; rejects with the REFUSED code on refusal. */
  static attach(address: string, trust: TrustStore, member: Member): Promise<RawClient> {
    const { host, port } = parseAddress(address);
    const ini = new AttachInitiator({
      trust,
      signer: member.id.signer,
      pcert: member.pcert,
      pcertObjectId: decodeEnvelope(trust.provider, member.pcert).objectId,
    });
    const socket = connect({ host, port });
    const decoder = new FrameDecoder(16 * 1024);
    return new Promise((resolve, reject) => {
      const onData = (chunk: Buffer): void => {
        try {
          const frames = decoder.push(chunk);
          for (let i = 0; i < frames.length; i++) {
            const f = frames[i]!;
            if (f.type === FrameType.HELLO_R) socket.write(encodeFrame(FrameType.AUTH, ini.onHelloR(f.payload)));
            else if (f.type === FrameType.OK) {
              const r = ini.onOk(f.payload);
              decoder.setMaxFrame(r.maxFrame);
              socket.off('data', onData);
              socket.off('close', onClose);
              const c = new RawClient(socket, decoder, r.channel);
              for (const rest of frames.slice(i + 1)) c.onFrame(rest);
              resolve(c);
              return;
            } else if (f.type === FrameType.REFUSED) {
              reject(Object.assign(new Error('refused'), { refusedCode: (f.payload[0]! << 8) | f.payload[1]! }));
              socket.destroy();
              return;
            }
          }
        } catch (e) {
          socket.destroy();
          reject(e as Error);
        }
      };
      const onClose = (): void => reject(new Error('raw client: closed during attachment'));
      socket.on('data', onData);
      socket.on('close', onClose);
      socket.on('error', () => {});
      socket.on('connect', () => socket.write(encodeFrame(FrameType.HELLO, ini.hello())));
    });
  }

  private onData(chunk: Uint8Array): void {
    for (const f of this.decoder.push(chunk)) this.onFrame(f);
  }

  private onFrame(f: Frame): void {
    let r: Received;
    if (f.type === FrameType.CONTROL) {
      const pt = this.channel.recv.open(f.payload, CONTROL_AD);
      if (pt === null) throw new Error('raw client: CONTROL does not authenticate');
      r = { type: 'control', m: decodeControl(pt) };
    } else if (f.type === FrameType.RELAY) {
      const v = new DataView(f.payload.buffer, f.payload.byteOffset, f.payload.byteLength);
      r = { type: 'relay', stitchId: v.getUint32(0), payload: f.payload.subarray(4) };
    } else {
      r = { type: 'other', frame: f };
    }
    this.received.push(r);
    const i = this.waiters.findIndex((w) => w.match(r));
    if (i !== -1) this.waiters.splice(i, 1)[0]!.resolve(r);
  }

  /** The first frame matching `match`, already received or still to come. */
  next(match: (r: Received) => boolean): Promise<Received> {
    const have = this.received.find(match);
    if (have !== undefined) return Promise.resolve(have);
    if (this.closed) return Promise.reject(new Error('raw client: closed'));
    return new Promise((resolve, reject) => this.waiters.push({ match, resolve, reject }));
  }

  /** The first control message of `kind`, consumed from the received list. */
  async control<K extends ControlMessage['kind']>(kind: K): Promise<Extract<ControlMessage, { kind: K }>> {
    const r = await this.next((x) => x.type === 'control' && x.m.kind === kind);
    this.received.splice(this.received.indexOf(r), 1);
    return (r as { m: ControlMessage }).m as Extract<ControlMessage, { kind: K }>;
  }

  sendControl(m: ControlMessage): void {
    this.socket.write(encodeFrame(FrameType.CONTROL, this.channel.send.seal(encodeControl(m), CONTROL_AD)));
  }

  /** Seals and sends any CONTROL plaintext, well-formed or not. */
  sendControlBytes(plaintext: Uint8Array): void {
    this.socket.write(encodeFrame(FrameType.CONTROL, this.channel.send.seal(plaintext, CONTROL_AD)));
  }

  sendRelay(stitchId: number, payload: Uint8Array): boolean {
    return this.socket.write(encodeRelayFrame(stitchId, payload));
  }

  sendRaw(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  whenClosed(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => this.closeWaiters.push(resolve));
  }

  close(): void {
    this.socket.destroy();
  }
}
