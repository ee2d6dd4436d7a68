// `uzpgw pantheon` for outbound publishing (issue #12): a collector is enrolled with --role collector,
// and `pantheon grant --purpose telemetry.publish` issues a Grant subject=gateway, audience=collector
// naming the slots the gateway may publish (or '*'); the HIL direction (operator -> gateway) is kept,
// and every mix-up is refused with a message that says which way round it goes. `pantheon show`
// prints the new artefact types.

import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/dispatch.js';
import { readArtefactFile, writeArtefactFile } from '../../src/files/artefact-file.js';
import { loadTrustAnchor } from '../../src/files/trust-anchor.js';
import { TrustStore } from '../../src/uzp/artefacts/trust.js';
import { fromHex } from '../../src/uzp/bytes.js';
import { encodeCanonical, type CborValue } from '../../src/uzp/cbor.js';
import { nodeProvider as provider } from '../../src/uzp/crypto/node.js';
import { collector, discoveryGrantBody, mintDiscovery, receiptBody } from '../uzp/artefacts/discovery-fixtures.js';

const tmp = mkdtempSync(join(tmpdir(), 'uzp-pantheon-publish-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const D = join(tmp, 'domain');
const p = (f: string) => join(tmp, f);

/* eslint-disable @typescript-eslint/no-explicit-any */
async function run(...argv: string[]): Promise<{ code: number; out: string; err: string; json: () => any }> {
  let out = '';
  let err = '';
  const sink = (f: (s: string) => void) =>
    new Writable({
      write(chunk, _enc, cb) {
        f(String(chunk));
        cb();
      },
    });
  const code = await main(argv, { stdout: sink((s) => (out += s)), stderr: sink((s) => (err += s)) });
  return { code, out, err, json: () => JSON.parse(out) };
}

const ids: Record<'gw' | 'col' | 'op', { cid: string; public: string }> = {} as never;

beforeAll(async () => {
  expect((await run('pantheon', 'init', '--dir', D, '--domain', 'plant-7.example')).code).toBe(0);
  for (const [k, role] of [['gw', 'gateway'], ['col', 'collector'], ['op', 'operator']] as const) {
    const key = await run('keygen', '--out', p(`${k}.key`), '--request', p(`${k}.req`), '--role', role, '--json');
    expect(key.code, key.err).toBe(0);
    ids[k] = key.json();
    const e = await run('pantheon', 'enroll', '--dir', D, '--request', p(`${k}.req`), '--role', role, '--out', p(`${k}.pcert`), '--json');
    expect(e.code, e.err).toBe(0);
    expect(e.json().role).toBe(role);
  }
});

function trustStore(nowMs = Date.now()): TrustStore {
  const a = loadTrustAnchor(provider, join(D, 'trust.json'));
  return new TrustStore({ provider, rootPublicKey: a.rootPublicKey, clock: () => nowMs });
}

const grant = (subject: string, audience: string, ...rest: string[]) => run('pantheon', 'grant', '--dir', D, '--subject', subject, '--audience', audience, ...rest);

describe('pantheon: collector role and telemetry.publish Grants', () => {
  it('enroll --role collector issues a collector PCert that validates with that role', () => {
    const v = trustStore().validatePCert(readArtefactFile(p('col.pcert')), { role: 'collector', cid: fromHex(ids.col.cid) });
    expect(v.body.role).toBe('collector');
  });

  it("grant gateway -> collector, telemetry.publish on every slot ('*') or on named slots", async () => {
    const all = await grant(ids.gw.cid, ids.col.cid, '--slot', '*', '--purpose', 'telemetry.publish', '--days', '30', '--out', p('pub-all'), '--json');
    expect(all.code, all.err).toBe(0);
    expect(all.json()).toMatchObject({ subject: ids.gw.cid, audience: ids.col.cid, scopes: [{ slot: '*', purposes: ['telemetry.publish'] }], warnings: [] });
    const g = trustStore().validateGrant(readArtefactFile(p('pub-all')), { audience: fromHex(ids.col.cid), subject: fromHex(ids.gw.cid) });
    expect(g.body.scopes).toEqual([{ slot: '*', purposes: [{ purpose: 'telemetry.publish' }] }]);

    const named = await grant(ids.gw.cid, ids.col.cid, '--slot', 'rs485-1@th-bus-1', '--slot', 'tty-1', '--purpose', 'rs485-1/telemetry.publish', '--purpose', 'tty-1/telemetry.publish', '--out', p('pub-two'), '--json');
    expect(named.code, named.err).toBe(0);
    expect(named.json().scopes).toEqual([
      { slot: 'rs485-1', device: 'th-bus-1', purposes: ['telemetry.publish'] },
      { slot: 'tty-1', purposes: ['telemetry.publish'] },
    ]);
  });

  it('the HIL direction is unchanged: operator -> gateway with HIL purposes', async () => {
    const r = await grant(ids.op.cid, ids.gw.cid, '--slot', 'tty-1', '--purpose', 'serial.read', '--out', p('hil'), '--json');
    expect(r.code, r.err).toBe(0);
  });

  it('wrong parties are refused with the direction in the message', async () => {
    const cases: [string[], RegExp][] = [
      [[ids.op.cid, ids.col.cid], /--subject: [0-9a-f]{16}… is enrolled as operator; a telemetry\.publish Grant's subject must be a gateway \(the publisher, which initiates\)/],
      [[ids.gw.cid, ids.gw.cid], /--audience: [0-9a-f]{16}… is enrolled as gateway; a telemetry\.publish Grant's audience must be a collector \(the responder\)/],
      [[ids.col.cid, ids.gw.cid], /--subject: [0-9a-f]{16}… is enrolled as collector; a telemetry\.publish Grant's subject must be a gateway/],
    ];
    for (const [[s, a], msg] of cases) {
      const r = await grant(s!, a!, '--slot', '*', '--purpose', 'telemetry.publish', '--out', p('bad'));
      expect([r.code, r.err], `${s!.slice(0, 6)} -> ${a!.slice(0, 6)}`).toEqual([2, expect.stringMatching(msg)]);
    }
    // A HIL purpose to a collector: the HIL rule, with the publishing direction as a hint.
    const hil = await grant(ids.op.cid, ids.col.cid, '--slot', 'tty-1', '--purpose', 'serial.read', '--out', p('bad'));
    expect([hil.code, hil.err]).toEqual([2, expect.stringMatching(/--audience: .* is enrolled as collector; a Grant's audience must be a gateway \(the responder\) \(telemetry\.publish Grants go from a gateway to a collector\)/)]);
    expect(existsSync(p('bad'))).toBe(false);
  });

  it("mixed purposes, '*' on HIL Grants, '*' with other slots or a device, and parameters are refused", async () => {
    const cases: [string[], string[], RegExp][] = [
      [[ids.gw.cid, ids.col.cid], ['--slot', 'tty-1', '--purpose', 'telemetry.publish', '--purpose', 'serial.read'], /telemetry\.publish \(gateway -> collector\) and HIL purposes \(operator -> gateway\) go in separate Grants/],
      [[ids.op.cid, ids.gw.cid], ['--slot', '*', '--purpose', 'serial.read'], /--slot '\*' \(every slot\) is for telemetry\.publish Grants only/],
      [[ids.gw.cid, ids.col.cid], ['--slot', '*', '--slot', 'tty-1', '--purpose', '*/telemetry.publish', '--purpose', 'tty-1/telemetry.publish'], /--slot '\*' already means every slot: give it alone/],
      [[ids.gw.cid, ids.col.cid], ['--slot', '*@plc-1', '--purpose', 'telemetry.publish'], /--slot '\*' \(every slot\) names no device/],
      [[ids.gw.cid, ids.col.cid], ['--slot', '*', '--purpose', 'telemetry.publish:units=1'], /telemetry\.publish takes no parameters/],
      [[ids.gw.cid, ids.col.cid], ['--slot', '*', '--purpose', 'telemetry.publsh'], /did you mean telemetry\.publish\?/],
    ];
    for (const [[s, a], rest, msg] of cases) {
      const r = await grant(s!, a!, ...rest, '--out', p('bad'));
      expect([r.code, r.err], rest.join(' ')).toEqual([2, expect.stringMatching(msg)]);
    }
    expect(existsSync(p('bad'))).toBe(false);
  });

  it('pantheon show prints discovery grants and receipts (their wire map), not a crash', async () => {
    writeArtefactFile(p('dg'), mintDiscovery('discovery-grant', discoveryGrantBody()));
    writeArtefactFile(p('rc'), mintDiscovery('receipt', receiptBody()));
    const dg = await run('pantheon', 'show', p('dg'), '--json');
    expect(dg.code, dg.err).toBe(0);
    expect(dg.json()).toMatchObject({ type: 'discovery-grant', audience: Buffer.from(collector.cid).toString('hex'), body: { purp: ['telemetry.store', 'telemetry.dashboard'], cons: { ret_d: 30 } } });
    expect(dg.json().problem).toBeUndefined();
    const rc = await run('pantheon', 'show', p('rc'), '--json');
    expect(rc.json().body).toMatchObject({ k: 'accept', rng: [['rs485-1', 3, 1, 120]] });
  });

  it('pantheon show marks byte strings in the CBOR it shows as found, so bytes never print like text', async () => {
    // A slot named "deadbeef" (text) and a grant id of bytes; extensions holding the text
    // "deadbeef", the bytes de ad be ef, and a map of both.
    const ext = (id: string, val: CborValue) => ({ id, critical: false, value: encodeCanonical(val) });
    const bytes = Uint8Array.of(0xde, 0xad, 0xbe, 0xef);
    writeArtefactFile(p('rc-bytes'), mintDiscovery('receipt', receiptBody({ grantId: new Uint8Array(32).fill(0xde), scope: ['deadbeef'], ranges: [{ slot: 'deadbeef', epoch: 1, first: 0, last: 0 }] }), { extensions: [ext('x-text', 'deadbeef'), ext('x-bytes', bytes), ext('x-map', { text: 'deadbeef', raw: bytes })] }));
    const rc = await run('pantheon', 'show', p('rc-bytes'), '--json');
    expect(rc.code, rc.err).toBe(0);
    const shown = rc.json();
    expect(shown.problem).toBeUndefined();
    // Before: "g": "dede…" beside "scope": ["deadbeef"], and both extensions' "value": "deadbeef".
    expect(shown.body).toMatchObject({ g_hex: 'de'.repeat(32), scope: ['deadbeef'] });
    expect(shown.body.g).toBeUndefined();
    expect(shown.extensions).toEqual([
      { id: 'x-text', critical: false, value: 'deadbeef' },
      { id: 'x-bytes', critical: false, value_hex: 'deadbeef' },
      { id: 'x-map', critical: false, value: { text: 'deadbeef', raw_hex: 'deadbeef' } },
    ]);
    // What the tool names as bytes by definition stays plain hex.
    expect(shown.object_id).toMatch(/^[0-9a-f]{64}$/);
  });
});
