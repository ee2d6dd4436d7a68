import { describe, expect, it } from 'vitest';
import { Association } from '../../../src/uzp/session/association.js';
import { canTransition, revalidated, SESSION_STATES, transition, type SessionState } from '../../../src/uzp/session/state.js';

// The legal moves of draft §4.2 as this profile reads them; everything else must throw.
const LEGAL: ReadonlyArray<[SessionState, SessionState]> = [
  ['new', 'pending'],
  ['new', 'closed'],
  ['pending', 'authenticated'],
  ['pending', 'closed'],
  ['authenticated', 'stitched'],
  ['authenticated', 'failover'],
  ['authenticated', 'closed'],
  ['stitched', 'failover'],
  ['stitched', 'closed'],
  ['failover', 'pending'],
  ['failover', 'stitched'],
  ['failover', 'closed'],
];

const isLegal = (a: SessionState, b: SessionState) => LEGAL.some(([x, y]) => x === a && y === b);

describe('session states (draft §4.2)', () => {
  const proof = revalidated(new Uint8Array(32), 0);
  for (const from of SESSION_STATES) {
    for (const to of SESSION_STATES) {
      if (isLegal(from, to)) {
        it(`allows ${from} -> ${to}`, () => {
          expect(canTransition(from, to)).toBe(true);
          expect(transition(from, to, proof)).toBe(to);
        });
      } else {
        it(`refuses ${from} -> ${to}`, () => {
          expect(canTransition(from, to)).toBe(false);
          expect(() => transition(from, to, proof)).toThrow(expect.objectContaining({ code: 'SESSION_ILLEGAL_TRANSITION' }));
        });
      }
    }
  }

  it('failover -> stitched needs a revalidation proof (§11.4)', () => {
    expect(() => transition('failover', 'stitched')).toThrow(expect.objectContaining({ code: 'SESSION_ILLEGAL_TRANSITION' }));
  });

  it('cannot reach stitched without passing pending and authenticated', () => {
    const a = new Association();
    expect(() => a.to('stitched')).toThrow(expect.objectContaining({ code: 'SESSION_ILLEGAL_TRANSITION' }));
    expect(() => a.to('authenticated')).toThrow(expect.objectContaining({ code: 'SESSION_ILLEGAL_TRANSITION' }));
    a.to('pending');
    expect(() => a.to('stitched')).toThrow(expect.objectContaining({ code: 'SESSION_ILLEGAL_TRANSITION' }));
    a.to('authenticated');
    a.to('stitched');
    expect(a.history).toEqual(['new', 'pending', 'authenticated', 'stitched']);
  });

  it('closed is final; closing again is a no-op', () => {
    const a = new Association();
    a.close();
    a.close();
    expect(a.state).toBe('closed');
    for (const s of SESSION_STATES) expect(() => a.to(s)).toThrow(expect.objectContaining({ code: 'SESSION_ILLEGAL_TRANSITION' }));
  });

  it('emits each transition', () => {
    const a = new Association();
    const seen: string[] = [];
    a.on('state', (f: string, t: string) => seen.push(`${f}->${t}`));
    a.to('pending');
    a.close();
    expect(seen).toEqual(['new->pending', 'pending->closed']);
  });
});
