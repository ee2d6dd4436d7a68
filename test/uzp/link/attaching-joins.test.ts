// AttachingJoins (src/uzp/link/attaching-joins.ts): JOINs asked for while an RN link attaches. One
// too large for the RN's pre-auth frame limit waits for OK; when a 1-RTT attempt falls back to the
// full attachment, every JOIN waits for the new AUTH, the large ones too. Before, the large ones
// were dropped at the fallback and their JOIN timed out after 10 s.
import { describe, expect, it } from 'vitest';
import { AttachingJoins, type MakeJoin } from '../../../src/uzp/link/attaching-joins.js';
import type { SealingDirection } from '../../../src/uzp/link/channel.js';
import { ControlKind, DEFAULT_MAX_FRAME_PREAUTH } from '../../../src/uzp/link/constants.js';
import type { ControlMessage } from '../../../src/uzp/link/control.js';

const RN = new Uint8Array(32).fill(9);
const join = (joinId: number, ch1Bytes: number): MakeJoin => () => ({ kind: ControlKind.JOIN, joinId, target: new Uint8Array(32).fill(1), grant: new Uint8Array(64), ch1: new Uint8Array(ch1Bytes) }) as ControlMessage;

describe('AttachingJoins', () => {
  it('a 1-RTT attempt that falls back: the small JOIN and the one too large for a pre-auth frame both go with the full attachment', () => {
    let key: { send: SealingDirection; rnCid: Uint8Array } | undefined = { send: {} as SealingDirection, rnCid: RN };
    let oneRtt = true;
    const written: number[] = [];
    const sentAfterOk: number[] = [];
    const joins = new AttachingJoins({
      early: () => key,
      oneRtt: () => oneRtt,
      writeControl: (_s, body) => void written.push(body.length),
      sendControl: (m) => void sentAfterOk.push((m as { joinId: number }).joinId),
    });
    joins.add(join(1, 100));
    joins.add(join(2, DEFAULT_MAX_FRAME_PREAUTH + 1000)); // over the pre-auth limit: after OK
    expect(written).toHaveLength(1);
    // The RN refuses the 1-RTT HELLO: back to the full attachment, whose AUTH gives a new key.
    joins.fellBack();
    key = undefined;
    oneRtt = false;
    joins.add(join(3, 100));
    key = { send: {} as SealingDirection, rnCid: RN };
    joins.keyKnown();
    expect(written).toHaveLength(3); // 1 in the 1-RTT flight, then 1 and 3 behind AUTH
    joins.attached();
    expect(sentAfterOk).toEqual([2]);
  });
});
