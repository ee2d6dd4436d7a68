// A collector listed in the config whose files do not check out at start (a review: its Discovery
// Grant expired, the gateway restarted) was left out of the collectors the reading log waits for,
// so the first receipt of any other collector deleted everything it was owed, and readings were
// not even written afterwards. It is now waited for on every slot (CONFIG.md "every configured
// collector"), within the byte bound, and `uzpgw status` says so. Real processes on loopback
// (pantheon, RN, collector, gateway from dist/), as the other publish tests.

import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toHex } from '../../../src/uzp/bytes.js';
import { nodeProvider } from '../../../src/uzp/crypto/node.js';
import { generateIdentity } from '../../../src/uzp/identity/identity.js';
import { waitForJsonLine } from '../../helpers/processes.js';
import { PublishRig, until } from '../../helpers/publish-rig.js';

let rig: PublishRig;
const other = toHex(generateIdentity(nodeProvider).cid);

beforeAll(async () => {
  rig = await PublishRig.create({ durability: 'full' });
  // A second collector whose Discovery Grant does not check out (here: not an artefact at all).
  writeFileSync(rig.at('other.discovery'), 'not a discovery grant\n');
  const config = JSON.parse(readFileSync(rig.at('gateway.json'), 'utf8')) as { publish: { collectors: unknown[] } };
  config.publish.collectors.push({ cid: other, grant: 'publish.grant', discovery_grant: 'other.discovery' });
  writeFileSync(rig.at('gateway.json'), JSON.stringify(config));
  await rig.startCollector();
  await rig.startGateway();
}, 60_000);

afterAll(async () => {
  await rig?.close();
});

interface Status {
  reading_log: { readings: number; receipted: number };
  publish: { collector: string; state: string; receipts: number; unreceipted: number; last_error?: { message: string } }[];
}

describe('a configured collector whose files fail at start', () => {
  it('still holds back deletion: what the other collector receipted stays in the log, and status says why', async () => {
    await waitForJsonLine(rig.gateway!, (v) => v.event === 'publish.not_configured');
    await rig.writeLines('tty-1', 20);
    await until('20 stored', async () => ((await rig.stored()).length >= 20 ? true : undefined));
    // More readings, so commits carry the cursor's advance and whatever it lets go.
    await rig.writeLines('tty-1', 20);
    await until('40 stored', async () => ((await rig.stored()).length >= 40 ? true : undefined));
    const s = (await until('the receipts counted', async () => {
      const st = (await rig.status()) as unknown as Status;
      return st.publish[0]!.receipts > 0 && st.publish[0]!.unreceipted === 0 ? st : undefined;
    })) as Status;
    // Before: the readings the first collector receipted were deleted (receipted >= 20).
    expect(s.reading_log).toMatchObject({ readings: 40, receipted: 0 });
    expect(s.publish[1]).toMatchObject({ collector: other, state: 'not_configured', unreceipted: 40 });
    expect(s.publish[1]!.last_error?.message).toContain('the reading log keeps what it has not receipted');
  }, 90_000);
});
