// Freshness across a restart (issue #12, OI §11.4; docs/PROFILE.md §Freshness), with real processes
// on loopback (pantheon, RN, collector, gateway from dist/, test/helpers/publish-rig.ts): the first
// accepted announcement signals nothing; a restart with the same config signals nothing; a restart
// after the config changed sends one `fresh` of what `config` with the new digest, which the
// collector records in its audit trail, and the gateway audits `publish.fresh`.

import { readFileSync, writeFileSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadGatewayConfig } from '../../src/config/load.js';
import { configDigestHex } from '../../src/config/digest.js';
import { stopProcess, waitForJsonLine, type Child } from '../helpers/processes.js';
import { PublishRig } from '../helpers/publish-rig.js';

let rig: PublishRig;

beforeAll(async () => {
  rig = await PublishRig.create({ durability: 'batch' });
  await rig.startCollector();
}, 60_000);

afterAll(async () => {
  await rig?.close();
});

/** The collector's `fresh` audit entries (its SQLite store). */
function collectorFresh(): { what: string; digest: string }[] {
  const db = new DatabaseSync(rig.db, { readOnly: true });
  try {
    return (db.prepare("SELECT detail FROM audit WHERE event = 'fresh' ORDER BY id").all() as { detail: string }[]).map((r) => JSON.parse(r.detail) as { what: string; digest: string });
  } finally {
    db.close();
  }
}

/** Starts the gateway and waits until the collector accepted its announcement. */
async function gatewayAccepted(): Promise<Child> {
  const gw = await rig.startGateway();
  await waitForJsonLine(gw, (v) => v.action === 'publish.accepted');
  return gw;
}

const gatewayFresh = (gw: Child): Record<string, unknown>[] =>
  gw
    .stdout()
    .split('\n')
    .filter((l) => l.includes('"publish.fresh"'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('freshness signals across gateway restarts', () => {
  it('nothing on the first announcement, nothing after a restart with the same config', async () => {
    let gw = await gatewayAccepted();
    await stopProcess(gw);
    gw = await gatewayAccepted();
    // The verdict comes before any fresh would: give the session a moment to send one if it were going to.
    await new Promise((r) => setTimeout(r, 500));
    await stopProcess(gw);
    expect(gatewayFresh(gw)).toEqual([]);
    expect(collectorFresh()).toEqual([]);
  }, 60_000);

  it('after the config changed: one fresh of the config, with its new digest, recorded by the collector', async () => {
    const file = rig.at('gateway.json');
    const config = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    writeFileSync(file, JSON.stringify({ ...config, name: 'line-7 gateway' }));
    const digest = configDigestHex(loadGatewayConfig(file));
    const gw = await gatewayAccepted();
    await waitForJsonLine(gw, (v) => v.action === 'publish.fresh');
    const deadline = Date.now() + 10_000;
    while (collectorFresh().length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(collectorFresh()).toEqual([expect.objectContaining({ what: 'config', digest })]);
    expect(gatewayFresh(gw)).toEqual([expect.objectContaining({ what: 'config', digest })]);
    await stopProcess(gw);
  }, 60_000);
});
