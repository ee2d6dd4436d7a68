// Loopback sources for admission tests: Linux routes all of 127.0.0.0/8 to lo, so a client socket
// bound to 127.0.0.2 is a second source address to the RN. attachFrom() runs a real attachment
// (AttachInitiator) from a chosen local address; silentFrom() opens connections that never speak.

import { connect, type Socket } from 'node:net';
import { decodeEnvelope } from '../../src/uzp/artefacts/envelope.js';
import type { TrustStore } from '../../src/uzp/artefacts/trust.js';
import { AttachInitiator } from '../../src/uzp/link/attach.js';
import { parseAddress } from '../../src/uzp/link/address.js';
import { FrameType } from '../../src/uzp/link/constants.js';
import { FrameDecoder, encodeFrame } from '../../src/uzp/link/frame.js';
import { decodeRefused } from '../../src/uzp/link/messages.js';
import type { Member } from '../helpers/domain.js';

export type AttachOutcome = { readonly ok: true; readonly socket: Socket } | { readonly ok: false; readonly refusedCode: number | null };

const opened = new Set<Socket>();

/** Destroys every socket this module opened (afterEach). */
export function destroyAll(): void {
  for (const s of opened) s.destroy();
  opened.clear();
}

function open(address: string, localAddress: string): Socket {
  const { host, port } = parseAddress(address);
  const s = connect({ host, port, localAddress });
  s.on('error', () => {});
  opened.add(s);
  s.on('close', () => opened.delete(s));
  return s;
}

/** Attaches `member` from `localAddress`: OK, or the REFUSED code (null: closed without one). */
export function attachFrom(address: string, trust: TrustStore, member: Member, localAddress: string): Promise<AttachOutcome> {
  const ini = new AttachInitiator({ trust, signer: member.id.signer, pcert: member.pcert, pcertObjectId: decodeEnvelope(trust.provider, member.pcert).objectId });
  const socket = open(address, localAddress);
  const decoder = new FrameDecoder(16 * 1024);
  return new Promise((resolve) => {
    const settle = (o: AttachOutcome): void => {
      socket.removeAllListeners('data');
      socket.removeListener('close', onClose);
      if (!o.ok) socket.destroy();
      resolve(o);
    };
    const onClose = (): void => settle({ ok: false, refusedCode: null });
    socket.on('close', onClose);
    socket.on('connect', () => socket.write(encodeFrame(FrameType.HELLO, ini.hello())));
    socket.on('data', (chunk: Buffer) => {
      for (const f of decoder.push(chunk)) {
        if (f.type === FrameType.HELLO_R) socket.write(encodeFrame(FrameType.AUTH, ini.onHelloR(f.payload)));
        else if (f.type === FrameType.OK) {
          ini.onOk(f.payload); // verifies the RN's OK: a real attachment, not just a reply
          return settle({ ok: true, socket });
        } else if (f.type === FrameType.REFUSED) return settle({ ok: false, refusedCode: decodeRefused(f.payload) });
      }
    });
  });
}

/** Opens `n` connections from `localAddress` that never send a byte. */
export function silentFrom(address: string, localAddress: string, n: number): Socket[] {
  return Array.from({ length: n }, () => open(address, localAddress));
}
