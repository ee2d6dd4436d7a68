// A discovery revocations file the gateway cannot read at start (a bad edit, a broken link, wrong
// permissions) used to be logged and passed over: the gateway published to collectors whose consent
// the file withdraws. Now nothing is published until it can be read, and the readings wait in the
// log: fixed, the file is read again (it is watched) and publishing starts with all of them.
// Real processes on loopback (pantheon, RN, collector, gateway from dist/), as the other publish tests.

import { symlinkSync, unlinkSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForJsonLine } from '../../helpers/processes.js';
import { PublishRig, until } from '../../helpers/publish-rig.js';

let rig: PublishRig;

beforeAll(async () => {
  rig = await PublishRig.create({ durability: 'full' });
  // A link to nowhere where the revocations file belongs (beside the identity key).
  symlinkSync(rig.at('no-such-dir/revocations.json'), rig.at('discovery-revocations.json'));
  await rig.startCollector();
  await rig.startGateway();
}, 60_000);

afterAll(async () => {
  await rig?.close();
});

describe('the revocations file unreadable at start', () => {
  it('holds every publisher (status held, nothing stored, readings kept); fixed, all of them are published', async () => {
    await waitForJsonLine(rig.gateway!, (v) => v.event === 'publish.held');
    await rig.writeLines('tty-1', 20);
    const held = await until('the readings logged, unreceipted', async () => {
      const s = (await rig.status()) as { publish?: { state: string; unreceipted: number; last_error?: { code: string } }[] };
      const p = s.publish?.[0];
      return p !== undefined && p.unreceipted >= 20 ? p : undefined;
    });
    expect(held).toMatchObject({ state: 'held', last_error: { code: 'FILE_NOT_FOUND' } });
    expect(await rig.stored()).toEqual([]);

    unlinkSync(rig.at('discovery-revocations.json')); // absent: no revocations, readable
    await until('all 20 stored', async () => ((await rig.stored()).length >= 20 ? true : undefined));
    const s = (await rig.status()) as { publish?: { state: string }[] };
    expect(s.publish?.[0]?.state).not.toBe('held');
  }, 90_000);
});
