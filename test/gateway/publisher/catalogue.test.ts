// The announcement's `dropped` (src/gateway/publisher/catalogue.ts droppedFor): only the catalogue's
// slots, however many slots the log has counted drops for over its life; such an announcement
// decodes at the collector (it refused one naming more than 64 slots, at every session).

import { describe, expect, it } from 'vitest';
import { droppedFor } from '../../../src/gateway/publisher/catalogue.js';
import { decodePublish, encodePublish, type CatalogueEntry } from '../../../src/hil/publish-messages.js';

const entry = (slot: string): CatalogueEntry => ({ slot, device: `dev-${slot}`, kind: 'serial', driver: 'serial-line' });

describe('announce.dropped', () => {
  it('names the catalogue slots with drops, nothing else, and decodes with 70 slots counted in the log', () => {
    const counted: Record<string, number> = {};
    for (let i = 0; i < 70; i++) counted[`old-${i}`] = i + 1; // slots of earlier configs
    counted['tty-1'] = 5;
    counted['tty-2'] = 0;
    const catalogue = [entry('tty-1'), entry('tty-2'), entry('tty-3')];
    const dropped = droppedFor(catalogue, counted);
    expect(dropped).toEqual({ 'tty-1': 5 });
    const bytes = encodePublish({ t: 'announce', action: 'new', board: 'virtual', catalogue, grant: Uint8Array.of(1), dropped, digests: { catalogue: new Uint8Array(32) } });
    expect(decodePublish(bytes)).toMatchObject({ t: 'announce', dropped: { 'tty-1': 5 } });
    // What was sent before: the log's whole table, which the collector refused.
    expect(() => decodePublish(encodePublish({ t: 'announce', action: 'new', board: 'virtual', catalogue, grant: Uint8Array.of(1), dropped: counted, digests: { catalogue: new Uint8Array(32) } }))).toThrow(/more than 64 slots/);
  });
});
