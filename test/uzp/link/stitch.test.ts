// LinkStitch hands RELAY payloads to its one consumer. RnLink reads into one reused buffer, so a
// payload it delivers is a transient view: only a consumer that said { transient: true } may get
// it as is; everyone else, and the bounded early queue, gets a copy.
import { describe, expect, it } from 'vitest';
import { LinkStitch, type StitchHost } from '../../../src/uzp/link/stitch.js';

const host: StitchHost = { maxPayload: 1024, rnCid: new Uint8Array(32), sendRelay: () => true, releaseStitch: () => {},
  flush: () => {}, probe: () => {} };

/** A view into a "read buffer" that the next read overwrites. */
function readView(fill: number): { buffer: Uint8Array; view: Uint8Array } {
  const buffer = new Uint8Array(64).fill(fill);
  return { buffer, view: buffer.subarray(8, 24) };
}

describe('LinkStitch: transient payloads', () => {
  it('a consumer that did not opt in gets its own copy', () => {
    const s = new LinkStitch(1, host, 4);
    const got: Uint8Array[] = [];
    s.onPayload((p) => void got.push(p));
    const { buffer, view } = readView(7);
    expect(s.deliver(view, true)).toBe(true);
    buffer.fill(0); // the next read
    expect(got[0]).toEqual(new Uint8Array(16).fill(7));
    expect(got[0]!.buffer).not.toBe(buffer.buffer);
  });

  it('a transient consumer gets the view itself (no copy)', () => {
    const s = new LinkStitch(1, host, 4);
    const got: Uint8Array[] = [];
    s.onPayload((p) => void got.push(p), { transient: true });
    const { view } = readView(7);
    s.deliver(view, true);
    expect(got[0]).toBe(view);
  });

  it('payloads queued before a consumer exists are copied, whatever the consumer says later', () => {
    const s = new LinkStitch(1, host, 4);
    const { buffer, view } = readView(9);
    expect(s.deliver(view, true)).toBe(true);
    buffer.fill(0);
    const got: Uint8Array[] = [];
    s.onPayload((p) => void got.push(p), { transient: true });
    expect(got).toEqual([new Uint8Array(16).fill(9)]);
  });

  it('a payload that is already the consumer\'s own is passed as is', () => {
    const s = new LinkStitch(1, host, 4);
    const got: Uint8Array[] = [];
    s.onPayload((p) => void got.push(p));
    const own = Uint8Array.of(1, 2, 3);
    s.deliver(own);
    expect(got[0]).toBe(own);
  });
});
