// CONTROL DRAIN (0x0b, RN -> EP, draft §11.2 maintenance signalling): its codec at the edges, junk,
// and that an RnLink only believes a DRAIN sealed by the RN it attached to: a forged one (sealed
// under any other key, injected on the path) closes the link and raises no 'drain'.

import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { RendezvousNode } from '../../../src/rn/server.js';
import { CodedError, DecodeError } from '../../../src/lib/errors.js';
import { nodeProvider } from '../../../src/uzp/crypto/node.js';
import { ErrorCode } from '../../../src/uzp/errors.js';
import { CONTROL_AD } from '../../../src/uzp/link/attach.js';
import { SealingDirection } from '../../../src/uzp/link/channel.js';
import { ControlKind, FrameType } from '../../../src/uzp/link/constants.js';
import { decodeControl, encodeControl } from '../../../src/uzp/link/control.js';
import { encodeFrame } from '../../../src/uzp/link/frame.js';
import { RnLink } from '../../../src/uzp/link/rn-link.js';
import { TestDomain } from '../../helpers/domain.js';
import { LinkProxy } from '../../helpers/link-proxy.js';
import { once } from './wait.js';

describe('CONTROL DRAIN codec', () => {
  it('kind 0x0b, deadline_ms u32: the profile bytes, both ends of the range', () => {
    expect(encodeControl({ kind: ControlKind.DRAIN, deadlineMs: 5000 })).toEqual(Uint8Array.of(0x0b, 0, 0, 0x13, 0x88));
    for (const deadlineMs of [0, 0xffff_ffff]) expect(decodeControl(encodeControl({ kind: ControlKind.DRAIN, deadlineMs }))).toEqual({ kind: ControlKind.DRAIN, deadlineMs });
  });

  it('the encoder refuses a deadline outside u32; the decoder a short or long body', () => {
    for (const deadlineMs of [-1, 2 ** 32, 1.5, Number.NaN]) expect(() => encodeControl({ kind: ControlKind.DRAIN, deadlineMs })).toThrow(RangeError);
    expect(() => decodeControl(Uint8Array.of(0x0b))).toThrow(DecodeError);
    expect(() => decodeControl(Uint8Array.of(0x0b, 0, 0, 1))).toThrow(DecodeError);
    expect(() => decodeControl(Uint8Array.of(0x0b, 0, 0, 0, 1, 0))).toThrow(DecodeError);
  });

  it('10,000 junk and mutated DRAIN bodies throw only DecodeError', () => {
    const valid = fc.integer({ min: 0, max: 0xffff_ffff }).map((deadlineMs) => encodeControl({ kind: ControlKind.DRAIN, deadlineMs }));
    const junk = fc.oneof(
      fc.uint8Array({ maxLength: 12 }).map((b) => Uint8Array.from([0x0b, ...b])),
      fc.tuple(valid, fc.nat()).map(([b, n]) => b.subarray(0, n % (b.length + 1))),
      fc.tuple(valid, fc.nat(), fc.integer({ min: 0, max: 255 })).map(([b, i, x]) => {
        const c = b.slice();
        c[i % c.length] = x;
        return c;
      }),
    );
    fc.assert(
      fc.property(junk, (b) => {
        try {
          decodeControl(b);
        } catch (e) {
          expect(e).toBeInstanceOf(CodedError);
          expect(e).toBeInstanceOf(DecodeError);
        }
      }),
      { numRuns: 10_000 },
    );
  });
});

describe('RnLink and DRAIN', () => {
  const cleanups: (() => void | Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('a DRAIN forged on the path (sealed under another key) closes the link without a drain event', async () => {
    const d = new TestDomain();
    const rnId = d.member('rn').id;
    const rn = new RendezvousNode({ trust: d.trust(), seed: rnId.seed });
    const rnAddress = await rn.listen('127.0.0.1', 0);
    cleanups.push(() => rn.close());
    const [host, port] = rnAddress.split(':') as [string, string];
    const proxy = new LinkProxy({ host, port: Number(port) });
    const address = await proxy.start();
    cleanups.push(() => proxy.stop());
    // The first CONTROL frame from the RN after we ask for one is swapped for a forged DRAIN.
    const forger = new SealingDirection(nodeProvider, { key: randomBytes(32), iv: randomBytes(12) }, 1);
    let armed = false;
    proxy.hook = (f, dir) => {
      if (!armed || dir !== 'from-rn' || f[4] !== FrameType.CONTROL) return [f];
      armed = false;
      return [encodeFrame(FrameType.CONTROL, forger.seal(encodeControl({ kind: ControlKind.DRAIN, deadlineMs: 1 }), CONTROL_AD))];
    };
    const trust = d.trust();
    trust.setRnSet(d.rnSet([{ id: rnId, addresses: [address] }]));
    const m = d.member('operator');
    const link = await RnLink.attach({ address, trust, identity: { seed: m.id.seed, pcert: m.pcert } });
    cleanups.push(() => link.close());
    let drains = 0;
    link.on('drain', () => drains++);
    const closed = once<CodedError | undefined>((cb) => link.once('close', cb));
    armed = true;
    void link.join(d.member('gateway').id.cid, new Uint8Array(8), Uint8Array.of(1)).catch(() => {}); // the RN answers JOIN_REFUSED
    expect((await closed)?.code).toBe(ErrorCode.CRYPTO_AEAD_OPEN);
    expect(drains).toBe(0);
  });
});
