// End to end through the `uzpgw` dispatcher, in process, against a temporary directory:
// init -> keygen -> enroll -> grant -> rn-set -> revoke -> show, plus --help and refusals.

import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/dispatch.js';
import { readArtefactFile } from '../../src/files/artefact-file.js';
import { loadTrustAnchor } from '../../src/files/trust-anchor.js';
import { TrustStore } from '../../src/uzp/artefacts/trust.js';
import { fromHex, toHex } from '../../src/uzp/bytes.js';
import { nodeProvider as provider } from '../../src/uzp/crypto/node.js';
import { ErrorCode } from '../../src/uzp/errors.js';
import { codeOf } from '../helpers/errors.js';
import { FileErrorCode } from '../../src/files/errors.js';
import { virtualConfig } from '../config/fixtures.js';

const tmp = mkdtempSync(join(tmpdir(), 'uzp-pantheon-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const D = join(tmp, 'domain');
const p = (f: string) => join(tmp, f);

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

function trustStore(): TrustStore {
  const a = loadTrustAnchor(provider, join(D, 'trust.json'));
  return new TrustStore({ provider, rootPublicKey: a.rootPublicKey });
}

describe('uzpgw pantheon + keygen, end to end', () => {
  const ctx: Record<string, any> = {};

  it('init creates the domain (root key 0600) and refuses to overwrite it', async () => {
    const r = await run('pantheon', 'init', '--dir', D, '--domain', 'plant-7.example', '--json');
    expect(r.code, r.err).toBe(0);
    const j = r.json();
    expect(j.domain).toBe('plant-7.example');
    expect(j.root_cid).toMatch(/^[0-9a-f]{64}$/);
    expect(statSync(join(D, 'root.key')).mode & 0o777).toBe(0o600);
    expect(toHex(loadTrustAnchor(provider, join(D, 'trust.json')).rootCid)).toBe(j.root_cid);
    ctx.rootCid = j.root_cid;
    const again = await run('pantheon', 'init', '--dir', D, '--domain', 'other');
    expect(again.code).toBe(1);
    expect(again.err).toContain(FileErrorCode.FILE_EXISTS);
    expect(toHex(loadTrustAnchor(provider, join(D, 'trust.json')).rootCid)).toBe(ctx.rootCid);
  });

  it('keygen writes a 0600 key file and an enrollment request', async () => {
    const gw = await run('keygen', '--out', p('gw.key'), '--request', p('gw.req'), '--name', 'gw-01', '--role', 'gateway', '--json');
    expect(gw.code, gw.err).toBe(0);
    expect(statSync(p('gw.key')).mode & 0o777).toBe(0o600);
    expect(existsSync(p('gw.req'))).toBe(true);
    ctx.gw = gw.json();
    const op = await run('keygen', '--out', p('op.key'), '--json');
    expect(op.code, op.err).toBe(0);
    ctx.op = op.json();
    expect(ctx.op.cid).not.toBe(ctx.gw.cid);
    const human = await run('keygen', '--out', p('rn.key'));
    expect(human.code).toBe(0);
    expect(human.out).toMatch(/cid:\s+[0-9a-f]{64}/);
    expect((await run('keygen', '--out', p('gw.key'))).code).toBe(1); // never overwrites a key
    expect((await run('keygen', '--out', p('x.key'), '--role', 'gateway')).code).toBe(2); // --role needs --request
  });

  it('enroll issues PCerts from a request or a public key; they validate', async () => {
    const a = await run('pantheon', 'enroll', '--dir', D, '--request', p('gw.req'), '--role', 'gateway', '--out', p('gw.pcert'), '--json');
    expect(a.code, a.err).toBe(0);
    expect(a.json()).toMatchObject({ cid: ctx.gw.cid, role: 'gateway', name: 'gw-01' });
    const v = trustStore().validatePCert(readArtefactFile(p('gw.pcert')), { role: 'gateway', cid: fromHex(ctx.gw.cid) });
    expect(toHex(v.objectId)).toBe(a.json().object_id);
    const b = await run('pantheon', 'enroll', '--dir', D, '--public', ctx.op.public, '--role', 'operator', '--name', 'anna', '--days', '30', '--out', p('op.pcert'), '--json');
    expect(b.code, b.err).toBe(0);
    expect(b.json().expires_at - b.json().not_before).toBe(30 * 86_400);
    const mismatch = await run('pantheon', 'enroll', '--dir', D, '--request', p('gw.req'), '--role', 'operator', '--out', p('x.pcert'));
    expect(mismatch.code).toBe(2);
    expect((await run('pantheon', 'enroll', '--dir', D, '--role', 'operator', '--out', p('x.pcert'))).code).toBe(2);
  });

  it('grant issues Grants with increasing nonces per subject+audience; a newer Grant never disables an older one', async () => {
    const args = ['pantheon', 'grant', '--dir', D, '--subject', ctx.op.cid, '--audience', ctx.gw.cid, '--slot', 'slot-1', '--device', 'plc-1'];
    const purposes = ['--purpose', 'modbus.write:units=2,1:regs=0-99,200-210', '--purpose', 'mqtt.subscribe:topics=plant/+/temp,alarms/#', '--purpose', 'serial.read'];
    const g1 = await run(...args, ...purposes, '--no-replay', '--out', p('g1'), '--json');
    expect(g1.code, g1.err).toBe(0);
    expect(g1.json()).toMatchObject({ nonce: 1, no_replay: true, early_data: false, warnings: [] });
    // A modbus purpose without tables= is written as holding registers only, so the Grant says so.
    expect(g1.json().scopes).toEqual([{ slot: 'slot-1', device: 'plc-1', purposes: ['modbus.write:units=1,2:tables=holding:regs=0-99,200-210', 'mqtt.subscribe:topics=plant/+/temp,alarms/#', 'serial.read'] }]);
    expect(g1.json().expires_at - g1.json().not_before).toBe(24 * 3600);
    ctx.g1 = g1.json();
    expect((await run(...args, ...purposes, '--out', p('g2'), '--json')).json().nonce).toBe(2);
    expect((await run(...args, '--purpose', 'serial.read', '--nonce', '10', '--days', '2', '--out', p('g3'), '--json')).json().nonce).toBe(10);
    const g4 = await run(...args, '--purpose', 'serial.read', '--early-data', '--hours', '1', '--out', p('g4'), '--json');
    expect(g4.json()).toMatchObject({ nonce: 11, early_data: true });
    // A nonce at 2^53 - 1 is a usage error: accepted, it broke every later Grant of the pair with a stack trace.
    const huge = await run(...args, '--purpose', 'serial.read', '--nonce', String(Number.MAX_SAFE_INTEGER), '--out', p('g-huge'), '--json');
    expect(huge.code).toBe(2);
    // A gateway this directory did not enroll: its own nonce sequence, and a warning that its role is unchecked.
    const other = (await run('keygen', '--out', p('gw2.key'), '--json')).json();
    const g5 = await run('pantheon', 'grant', '--dir', D, '--subject', ctx.op.cid, '--audience', other.cid, '--slot', 'tty-1', '--purpose', 'serial.read', '--out', p('g5'), '--json');
    expect(g5.json().nonce).toBe(1);
    expect(g5.json().warnings).toEqual([expect.stringMatching(/--audience [0-9a-f]{16}… was not enrolled through this domain directory: its role \(gateway expected\) is not checked/)]);

    const ts = trustStore();
    const v = ts.validateGrant(readArtefactFile(p('g1')), { audience: fromHex(ctx.gw.cid), subject: fromHex(ctx.op.cid) });
    expect(v.body.scopes[0]!.purposes[0]).toEqual({ purpose: 'modbus.write', units: [1, 2], tables: ['holding'], registers: [[0, 99], [200, 210]] });
    expect(v.body.scopes.map((s) => [s.slot, s.device])).toEqual([['slot-1', 'plc-1']]);
    // Every one of them validates, in any order: issuing g4 disabled neither g1 nor g2.
    for (const g of ['g4', 'g1', 'g2', 'g3']) expect(ts.validateGrant(readArtefactFile(p(g)), { audience: fromHex(ctx.gw.cid), subject: fromHex(ctx.op.cid) }).body.scopes[0]!.slot, g).toBe('slot-1');
  });

  it('grant: one Grant for several slots, each with its own purposes and tables; --config refuses slots the gateway lacks', async () => {
    writeFileSync(p('gw.json'), JSON.stringify(virtualConfig()));
    const base = ['pantheon', 'grant', '--dir', D, '--subject', ctx.op.cid, '--audience', ctx.gw.cid, '--config', p('gw.json')];
    const r = await run(...base, '--slot', 'rs485-1@th-bus-1', '--slot', 'tty-1', '--purpose', 'rs485-1/modbus.read:units=1:tables=input,holding:regs=0-9', '--purpose', 'rs485-1/modbus.write:units=1:tables=coils:regs=0', '--purpose', 'tty-1/serial.read', '--out', p('multi'), '--json');
    expect(r.code, r.err).toBe(0);
    expect(r.json().scopes).toEqual([
      { slot: 'rs485-1', device: 'th-bus-1', purposes: ['modbus.read:units=1:tables=input,holding:regs=0-9', 'modbus.write:units=1:tables=coils:regs=0'] },
      { slot: 'tty-1', purposes: ['serial.read'] },
    ]);
    const typo = await run(...base, '--slot', 'rs485-2', '--purpose', 'serial.read', '--out', p('bad'));
    expect([typo.code, typo.err]).toEqual([2, expect.stringMatching(/--slot rs485-2: .*gw\.json has no such slot; did you mean rs485-1\?/)]);
    const device = await run(...base, '--slot', 'rs485-1@plc-9', '--purpose', 'modbus.read', '--out', p('bad'));
    expect([device.code, device.err]).toEqual([2, expect.stringMatching(/in .*gw\.json that slot holds device th-bus-1/)]);
    const unprefixed = await run(...base, '--slot', 'rs485-1', '--slot', 'tty-1', '--purpose', 'serial.read', '--out', p('bad'));
    expect(unprefixed.err).toMatch(/with several slots, prefix each purpose with its slot, e\.g\. rs485-1\/serial\.read/);
    const starved = await run(...base, '--slot', 'rs485-1', '--slot', 'tty-1', '--purpose', 'tty-1/serial.read', '--out', p('bad'));
    expect(starved.err).toMatch(/no --purpose for slot rs485-1/);
    expect(existsSync(p('bad'))).toBe(false);
  });

  it('grant refuses a typo\'d purpose with the closest name, and a subject or audience of the wrong role', async () => {
    const base = ['pantheon', 'grant', '--dir', D, '--out', p('bad')];
    const reed = await run(...base, '--subject', ctx.op.cid, '--audience', ctx.gw.cid, '--slot', 'rs485-1', '--purpose', 'modbus.reed');
    expect([reed.code, reed.err]).toEqual([2, expect.stringMatching(/"modbus\.reed" is not a purpose the gateway knows; did you mean modbus\.read\?/)]);
    const table = await run(...base, '--subject', ctx.op.cid, '--audience', ctx.gw.cid, '--slot', 'rs485-1', '--purpose', 'modbus.read:tables=holdings');
    expect(table.err).toMatch(/table "holdings" is not one of holding, input, coils, discrete; did you mean holding\?/);
    const swapped = await run(...base, '--subject', ctx.gw.cid, '--audience', ctx.op.cid, '--slot', 'rs485-1', '--purpose', 'serial.read');
    expect([swapped.code, swapped.err]).toEqual([2, expect.stringMatching(/--subject: [0-9a-f]{16}… is enrolled as gateway; a Grant's subject must be an operator/)]);
    const toOperator = await run(...base, '--subject', ctx.op.cid, '--audience', ctx.op.cid, '--slot', 'rs485-1', '--purpose', 'serial.read');
    expect(toOperator.err).toMatch(/--audience: [0-9a-f]{16}… is enrolled as operator; a Grant's audience must be a gateway/);
    expect(existsSync(p('bad'))).toBe(false);
  });

  it('grant refuses bad usage with exit code 2', async () => {
    const base = ['pantheon', 'grant', '--dir', D, '--subject', ctx.op.cid, '--audience', ctx.gw.cid, '--slot', 'slot-1', '--out', p('bad')];
    for (const extra of [
      ['--purpose', 'serial.read', '--early-data', '--no-replay'],
      ['--purpose', 'serial.read', '--hours', '1', '--days', '1'],
      ['--purpose', 'serial.read:regs=1-2'],
      ['--purpose', 'Serial Read'],
      [],
    ]) {
      const r = await run(...base, ...extra);
      expect(r.code, extra.join(' ')).toBe(2);
      expect(r.err).toContain('USAGE');
    }
    expect((await run('pantheon', 'grant', '--dir', D, '--subject', 'abc', '--audience', ctx.gw.cid, '--slot', 'slot-1', '--purpose', 'serial.read', '--out', p('bad'))).code).toBe(2);
    expect((await run('pantheon', 'grant', '--dir', D, '--subject', ctx.op.cid, '--audience', ctx.gw.cid, '--purpose', 'serial.read', '--out', p('bad'))).err).toMatch(/--slot is required/);
    expect(existsSync(p('bad'))).toBe(false);
  });

  it('rn-set issues statements with increasing sequence; epoch can rise but not fall', async () => {
    const rn1 = (await run('keygen', '--out', p('rn1.key'), '--json')).json();
    const rn2 = (await run('keygen', '--out', p('rn2.key'), '--json')).json();
    ctx.rn1 = rn1;
    ctx.rn2 = rn2;
    const a = await run('pantheon', 'rn-set', '--dir', D, '--rn', `${rn1.public}@rn1.example:7443,[2001:db8::1]:7443`, '--rn', `${rn2.public}@192.0.2.7:7443`, '--out', p('rs1'), '--json');
    expect(a.code, a.err).toBe(0);
    expect(a.json()).toMatchObject({ scope: 'plant-7.example', epoch: 0, sequence: 1 });
    const b = await run('pantheon', 'rn-set', '--dir', D, '--rn', `${rn2.public}@192.0.2.7:7443`, '--epoch', '2', '--roles', 'relay,rendezvous', '--out', p('rs2'), '--json');
    expect(b.json()).toMatchObject({ epoch: 2, sequence: 2 });
    expect((await run('pantheon', 'rn-set', '--dir', D, '--rn', `${rn2.public}@192.0.2.7:7443`, '--epoch', '1', '--out', p('rs3'))).code).toBe(2);
    expect((await run('pantheon', 'rn-set', '--dir', D, '--rn', `${rn2.public}@nohost`, '--out', p('rs3'))).code).toBe(2);

    const ts = trustStore();
    ts.setRnSet(readArtefactFile(p('rs1')));
    expect(ts.requireEligibleRn(fromHex(rn1.public), 'relay').addresses).toEqual(['rn1.example:7443', '[2001:db8::1]:7443']);
    ts.setRnSet(readArtefactFile(p('rs2')));
    expect(codeOf(() => ts.requireEligibleRn(fromHex(rn1.public)))).toBe(ErrorCode.RNSET_NOT_ELIGIBLE);
    expect(ts.requireEligibleRn(fromHex(rn2.public), 'rendezvous').roles).toEqual(['relay', 'rendezvous']);
    expect(codeOf(() => ts.setRnSet(readArtefactFile(p('rs1'))))).toBe(ErrorCode.ARTEFACT_STALE_SEQUENCE);
  });

  it('rn-set refuses one address under two RNs (compared as dialled): exit 2, both RNs and the address named, nothing issued', async () => {
    const { rn1, rn2 } = ctx;
    const state = () => JSON.parse(readFileSync(join(D, 'state.json'), 'utf8')).rn_set;
    const before = state();
    const r = await run('pantheon', 'rn-set', '--dir', D, '--rn', `${rn1.public}@rn1.example:7443,192.0.2.9:7443`, '--rn', `${rn2.public}@RN1.example:7443`, '--out', p('rs-dup'));
    expect(r.code).toBe(2);
    expect(r.err).toContain(`--rn ${rn1.public.slice(0, 16)}… and --rn ${rn2.public.slice(0, 16)}… both list the address rn1.example:7443 (as "rn1.example:7443" and "RN1.example:7443")`);
    expect(r.err).toContain('give each address to the one RN that answers at it');
    expect(existsSync(p('rs-dup'))).toBe(false);
    expect(state()).toEqual(before); // no sequence number taken
  });

  it('revoke issues cumulative lists; the newest revokes everything so far', async () => {
    const a = await run('pantheon', 'revoke', '--dir', D, '--cid', ctx.rn1.cid, '--out', p('rv1'), '--json');
    expect(a.code, a.err).toBe(0);
    expect(a.json()).toMatchObject({ sequence: 1, total_cids: 1, total_object_ids: 0 });
    const b = await run('pantheon', 'revoke', '--dir', D, '--artefact', p('g1'), '--out', p('rv2'), '--json');
    expect(b.json()).toMatchObject({ sequence: 2, total_cids: 1, total_object_ids: 1, added_object_ids: [ctx.g1.object_id] });
    const ts = trustStore();
    ts.setRevocation(readArtefactFile(p('rv2')));
    expect(ts.isRevoked(fromHex(ctx.rn1.cid))).toBe(true);
    expect(codeOf(() => ts.validateGrant(readArtefactFile(p('g1')), { audience: fromHex(ctx.gw.cid) }))).toBe(ErrorCode.REVOKED);
    expect(codeOf(() => ts.setRevocation(readArtefactFile(p('rv1'))))).toBe(ErrorCode.ARTEFACT_STALE_SEQUENCE);
    expect((await run('pantheon', 'revoke', '--dir', D, '--cid', 'xyz', '--out', p('rv3'))).code).toBe(2);
  });

  it('show decodes an artefact and checks its signature against the domain', async () => {
    const a = await run('pantheon', 'show', p('g1'), '--dir', D, '--json');
    expect(a.code, a.err).toBe(0);
    const j = a.json();
    expect(j).toMatchObject({ type: 'grant', object_id: ctx.g1.object_id, issuer: ctx.rootCid, subject: ctx.op.cid, audience: ctx.gw.cid, signature: 'valid', issued_by_root: true, validity: 'valid' });
    expect(j.body.scopes).toEqual(ctx.g1.scopes);
    expect((await run('pantheon', 'show', p('gw.pcert'), '--json')).json()).toMatchObject({ type: 'pcert', signature: 'not-checked', body: { role: 'gateway', name: 'gw-01' } });
    const human = await run('pantheon', 'show', p('rs1'), '--dir', D);
    expect(human.code).toBe(0);
    expect(human.out).toContain('"type": "rn-set"');
    // Tamper with one signature byte.
    const bytes = readArtefactFile(p('op.pcert'));
    bytes[bytes.length - 3]! ^= 1;
    writeFileSync(p('tampered'), bytes);
    expect((await run('pantheon', 'show', p('tampered'), '--dir', D, '--json')).json().signature).toBe('invalid');
    writeFileSync(p('junk'), Uint8Array.of(1, 2, 3));
    const junk = await run('pantheon', 'show', p('junk'));
    expect(junk.code).toBe(1);
    expect(junk.err).toContain('CBOR_INVALID');
    expect((await run('pantheon', 'show')).code).toBe(2);
  });

  it('a root key readable by others is refused with the fix in the message', async () => {
    chmodSync(join(D, 'root.key'), 0o644);
    try {
      const r = await run('pantheon', 'grant', '--dir', D, '--subject', ctx.op.cid, '--audience', ctx.gw.cid, '--slot', 'slot-1', '--purpose', 'serial.read', '--out', p('g9'));
      expect(r.code).toBe(1);
      expect(r.err).toContain(FileErrorCode.KEY_FILE_PERMISSIONS);
      expect(r.err).toContain(`chmod 600 ${join(D, 'root.key')}`);
    } finally {
      chmodSync(join(D, 'root.key'), 0o600);
    }
  });

  it('state.json records the counters', () => {
    const s = JSON.parse(readFileSync(join(D, 'state.json'), 'utf8'));
    expect(s.kind).toBe('uzp-gw/pantheon-state');
    expect(s.grant_nonces[`${ctx.op.cid}:${ctx.gw.cid}`]).toBe(12); // g1..g4 (g3 at --nonce 10), then the multi-slot Grant
    expect(s.members).toEqual({ [ctx.gw.cid]: 'gateway', [ctx.op.cid]: 'operator' });
    expect(s.rn_set).toEqual({ epoch: 2, sequence: 2 });
    expect(s.revocation.sequence).toBe(2);
  });
});

describe('--help everywhere', () => {
  for (const sub of ['init', 'enroll', 'grant', 'rn-set', 'revoke', 'show']) {
    it(`pantheon ${sub} --help`, async () => {
      const r = await run('pantheon', sub, '--help');
      expect(r.code).toBe(0);
      expect(r.out).toContain(`usage: uzpgw pantheon ${sub}`);
      expect(r.out).toContain('--json');
    });
  }
  it('pantheon --help lists the subcommands; keygen --help', async () => {
    const r = await run('pantheon', '--help');
    expect(r.code).toBe(0);
    for (const sub of ['init', 'enroll', 'grant', 'rn-set', 'revoke', 'show']) expect(r.out).toContain(`  ${sub}`);
    const k = await run('keygen', '--help');
    expect(k.code).toBe(0);
    expect(k.out).toContain('usage: uzpgw keygen');
  });
  it('unknown subcommands and options are usage errors', async () => {
    expect((await run('pantheon', 'frobnicate')).code).toBe(2);
    expect((await run('pantheon', 'init', '--dir', p('x'), '--domain', 'd', '--bogus')).code).toBe(2);
    expect((await run('pantheon', 'init', '--dir', p('x'), '--domain', 'bad domain!')).code).toBe(2);
  });
});
