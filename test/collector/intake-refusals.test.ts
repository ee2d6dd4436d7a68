// The collector's intake (src/collector/intake.ts) over two real sessions (in-memory stitch, real
// handshake) and a real SQLite store: an announcement is accepted only with a Discovery Grant
// issued by the authenticated gateway for this collector (OI §9.1), valid now, not revoked, inside
// what the trust domain's Grant lets the gateway publish, allowing what the collector processes for
// (§11.2); every refusal is answered with its code and audited. Accepted windows are stored and
// receipted with a receipt the gateway's checker accepts; rows of a revoked slot are not stored.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { Consents, MAX_REVOKED_GRANTS_PER_GATEWAY } from '../../src/collector/consents.js';
import { INTAKE_MAX_WAITING, serveIntake, type IntakeStats } from '../../src/collector/intake.js';
import { Purges } from '../../src/collector/purges.js';
import { receiptSigner } from '../../src/collector/receipts.js';
import { DELETE_CHUNK_ROWS, SqliteStore } from '../../src/collector/store/sqlite.js';
import { issueDiscoveryGrant, issueDiscoveryRevocation } from '../../src/gateway/publisher/issue.js';
import { receiptChecker } from '../../src/gateway/publisher/receipt-check.js';
import { decodePublish, encodePublish, type PublishMessage } from '../../src/hil/publish-messages.js';
import type { DiscoveryGrantBody } from '../../src/uzp/artefacts/discovery-grant.js';
import { openArtefact } from '../../src/uzp/artefacts/open.js';
import type { GrantScope } from '../../src/uzp/artefacts/types.js';
import { toHex } from '../../src/uzp/bytes.js';
import { generateIdentity } from '../../src/uzp/identity/identity.js';
import type { Channel } from '../../src/uzp/session/channel.js';
import { publishPair } from '../helpers/publish-pair.js';

const dir = mkdtempSync(join(tmpdir(), 'uzp-intake-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

const BODY: DiscoveryGrantBody = {
  scope: [{ slot: 'tty-1' }, { slot: 'tty-2' }],
  purposes: ['telemetry.store'],
  constraints: { retentionDays: 30 },
  policy: { allow: ['telemetry.store'], deny: ['ai.train'], retentionDays: 30, redistribution: false },
};

async function setup(o: { scopes?: GrantScope[]; consents?: Consents } = {}) {
  const { d, gw, col, gateway, collector, grant } = publishPair('collector', o.scopes);
  const file = join(dir, `c-${++n}.db`);
  const store = SqliteStore.open(file);
  const stats: IntakeStats = { sessions: 0, windows: 0, stored: 0, duplicates: 0, conflicts: 0, refused: 0 };
  const consents = o.consents ?? new Consents();
  serveIntake(collector, grant, {
    provider: d.provider,
    self: col.id.cid,
    store,
    receipts: receiptSigner(d.provider, col.id.signer, ['telemetry.store']),
    consents,
    purges: new Purges(store, pino({ level: 'silent' })),
    purposes: ['telemetry.store'],
    skewS: 300,
    logger: pino({ level: 'silent' }),
    now: () => d.clock(),
    stats,
  });
  const ch = gateway.openChannel();
  const got: PublishMessage[] = [];
  const waiters: ((m: PublishMessage) => void)[] = [];
  ch.on('message', (b: Uint8Array) => {
    const m = decodePublish(b);
    got.push(m);
    waiters.shift()?.(m);
  });
  const next = (): Promise<PublishMessage> => (got.length > 0 ? Promise.resolve(got.shift()!) : new Promise((r) => waiters.push((m) => (got.shift(), r(m)))));
  const dg = (body: DiscoveryGrantBody = BODY, opts: { audience?: Uint8Array; signer?: typeof gw.id.signer; nowMs?: number; validS?: number } = {}): Uint8Array =>
    issueDiscoveryGrant(d.provider, opts.signer ?? gw.id.signer, { collector: opts.audience ?? col.id.cid, body, nowMs: opts.nowMs ?? d.clock(), validS: opts.validS ?? 86_400 });
  const announce = (grantBytes: Uint8Array): void =>
    void (ch as Channel).trySend(encodePublish({ t: 'announce', action: 'new', board: 'virtual', catalogue: [], grant: grantBytes, dropped: {}, digests: { catalogue: new Uint8Array(32) } }));
  return { d, gw, col, store, file, stats, ch, next, dg, announce, gateway, consents };
}

async function refusedWith(s: Awaited<ReturnType<typeof setup>>, grantBytes: Uint8Array): Promise<{ code: string; audited: unknown[] }> {
  s.announce(grantBytes);
  const m = await s.next();
  expect(m.t).toBe('refused');
  const audited = (await s.store.auditLog(s.gw.id.cid)).filter((e) => e.event === 'grant.refused').map((e) => e.detail.code);
  return { code: (m as { code: string }).code, audited };
}

describe('collector intake: Discovery Grants refused and audited (OI §9.1, §11.2)', () => {
  it('a grant for another audience', async () => {
    const s = await setup();
    const r = await refusedWith(s, s.dg(BODY, { audience: generateIdentity(s.d.provider).cid }));
    expect(r).toEqual({ code: 'DISCOVERY_AUDIENCE', audited: ['DISCOVERY_AUDIENCE'] });
  });

  it('an expired grant', async () => {
    const s = await setup();
    const r = await refusedWith(s, s.dg(BODY, { nowMs: s.d.clock() - 3 * 86_400_000, validS: 86_400 }));
    expect(r).toEqual({ code: 'ARTEFACT_EXPIRED', audited: ['ARTEFACT_EXPIRED'] });
  });

  it('a grant signed by someone other than the authenticated gateway', async () => {
    const s = await setup();
    const r = await refusedWith(s, s.dg(BODY, { signer: generateIdentity(s.d.provider).signer }));
    expect(r).toEqual({ code: 'DISCOVERY_ISSUER', audited: ['DISCOVERY_ISSUER'] });
  });

  it('a grant whose consent was revoked, wholly or slot by slot', async () => {
    const whole = new Consents();
    const s = await setup({ consents: whole });
    const g = s.dg();
    whole.note(toHex(s.gw.id.cid), toHex(openArtefact(s.d.provider, g, 'discovery-grant').objectId));
    expect(await refusedWith(s, g)).toEqual({ code: 'REVOKED', audited: ['REVOKED'] });
    const slots = new Consents();
    const t = await setup({ consents: slots });
    const g2 = t.dg();
    slots.note(toHex(t.gw.id.cid), toHex(openArtefact(t.d.provider, g2, 'discovery-grant').objectId), ['tty-1', 'tty-2']);
    expect(await refusedWith(t, g2)).toEqual({ code: 'REVOKED', audited: ['REVOKED'] });
  });

  it("a grant beyond what the trust domain's Grant lets the gateway publish, or not allowing what the collector does", async () => {
    const s = await setup({ scopes: [{ slot: 'tty-1', purposes: [{ purpose: 'telemetry.publish' }] }] });
    expect(await refusedWith(s, s.dg())).toEqual({ code: 'GRANT_SCOPE', audited: ['GRANT_SCOPE'] });
    const t = await setup();
    const r = await refusedWith(t, t.dg({ ...BODY, purposes: ['search.index'], policy: { ...BODY.policy, allow: ['search.index'], deny: ['telemetry.store'] } }));
    expect(r).toEqual({ code: 'DISCOVERY_POLICY', audited: ['DISCOVERY_POLICY'] });
  });

  it('accepted: a window is stored once and receipted with a receipt the gateway accepts; a revoked slot is not stored', async () => {
    const consents = new Consents();
    const s = await setup({ consents });
    const g = s.dg();
    const grantId = openArtefact(s.d.provider, g, 'discovery-grant').objectId;
    consents.note(toHex(s.gw.id.cid), toHex(grantId), ['tty-2']);
    s.announce(g);
    expect((await s.next()).t).toBe('accepted');
    const rows = ['tty-1', 'tty-2'].flatMap((slot) => [0, 1, 2].map((seq) => ({ slot, device: 'd', kind: 'serial', epoch: 1, seq, ts: 1, value: Uint8Array.of(0x01) })));
    s.ch.trySend(encodePublish({ t: 'readings', w: 1, rows }));
    s.ch.trySend(encodePublish({ t: 'readings', w: 2, rows }));
    const r1 = await s.next();
    const r2 = await s.next();
    expect([r1.t, r2.t]).toEqual(['receipt', 'receipt']);
    const check = receiptChecker(s.d.provider, s.gw.id.cid, grantId);
    const rc = check((r1 as { rc: Uint8Array }).rc, s.gateway);
    expect(rc.ranges).toEqual([{ slot: 'tty-1', epoch: 1, first: 0, last: 2 }]);
    expect(await s.store.counts(s.gw.id.cid)).toEqual(new Map([['tty-1', 3]]));
    expect(s.stats).toMatchObject({ stored: 3, duplicates: 3, refused: 6 });
    expect((await s.store.auditLog(s.gw.id.cid)).map((e) => e.event)).toEqual(['grant.accepted', 'readings.refused', 'readings.refused']);
  });

  it('a reading sent again with other content: still receipted, the first copy kept, audited and counted once', async () => {
    const s = await setup();
    s.announce(s.dg());
    expect((await s.next()).t).toBe('accepted');
    const row = (value: number) => ({ slot: 'tty-1', device: 'd', kind: 'serial', epoch: 1, seq: 4, ts: 1, value: Uint8Array.of(value) });
    for (const [w, value] of [[1, 1], [2, 1], [3, 2], [4, 2]] as const) {
      s.ch.trySend(encodePublish({ t: 'readings', w, rows: [row(value)] }));
      expect((await s.next()).t).toBe('receipt');
    }
    expect((await s.store.query({})).map((x) => [...x.value])).toEqual([[1]]);
    expect(s.stats).toMatchObject({ stored: 1, duplicates: 3, conflicts: 1 });
    expect((await s.store.auditLog(s.gw.id.cid)).filter((e) => e.event === 'readings.conflict').map((e) => e.detail)).toEqual([{ slot: 'tty-1', epoch: 1, seq: 4, differs: ['value'] }]);
  });

  it('a grant that expires during the session: nothing more is stored, ARTEFACT_EXPIRED, audited, the session closed', async () => {
    const s = await setup();
    s.announce(s.dg(BODY, { validS: 3600 }));
    expect((await s.next()).t).toBe('accepted');
    const rows = [0, 1].map((seq) => ({ slot: 'tty-1', device: 'd', kind: 'serial', epoch: 1, seq, ts: 1, value: Uint8Array.of(seq) }));
    s.ch.trySend(encodePublish({ t: 'readings', w: 1, rows: rows.slice(0, 1) }));
    expect((await s.next()).t).toBe('receipt');
    // Past the expiry and the 300 s skew the collector allows at validation.
    s.d.advance(3600 + 301);
    const closed = new Promise<void>((r) => s.gateway.once('close', () => r()));
    s.ch.trySend(encodePublish({ t: 'readings', w: 2, rows: rows.slice(1) }));
    expect(await s.next()).toEqual({ t: 'refused', code: 'ARTEFACT_EXPIRED' });
    await closed;
    expect(await s.store.counts(s.gw.id.cid)).toEqual(new Map([['tty-1', 1]]));
    expect((await s.store.auditLog(s.gw.id.cid)).map((e) => e.event)).toEqual(['grant.accepted', 'grant.expired']);
  });

  it('a gateway that sends far ahead of a stalled store: the session is closed, not held without end', async () => {
    const s = await setup();
    s.announce(s.dg());
    expect((await s.next()).t).toBe('accepted');
    // The store stalls: every audit line waits for good, and so does each message behind it.
    s.store.audit = () => new Promise<void>(() => {});
    const closed = new Promise<void>((r) => s.gateway.once('close', () => r()));
    for (let i = 0; i < INTAKE_MAX_WAITING + 10; i++) s.ch.trySend(encodePublish({ t: 'fresh', what: 'catalogue', digest: new Uint8Array(32), at_ms: i }));
    await closed; // without the bound: every message waits in the collector, and the session stays
  });
});

describe('collector intake: revocations (OI §11.6)', () => {
  it('withdrawing the whole relationship revokes every grant issued up to then, seen here or not, across a restart; a later grant is a new consent', async () => {
    const s = await setup();
    const older = s.dg(BODY, { nowMs: s.d.clock() - 60_000 }); // issued before, never announced here
    s.announce(s.dg());
    expect((await s.next()).t).toBe('accepted');
    const atMs = s.d.clock();
    s.ch.trySend(encodePublish({ t: 'revoke', rev: issueDiscoveryRevocation(s.d.provider, s.gw.id.signer, { collector: s.col.id.cid, nowMs: atMs }) }));
    expect((await s.next()).t).toBe('revoked');
    expect(s.consents.relationshipRevokedAt(s.gw.id.cid)).toBe(atMs);
    // Not revoked by its id (only the grant in force was): refused for the relationship.
    expect(s.consents.isRevoked(openArtefact(s.d.provider, older, 'discovery-grant').objectId)).toBe(false);
    expect(await refusedWith(s, older)).toMatchObject({ code: 'REVOKED' });
    s.announce(s.dg(BODY, { nowMs: atMs + 1000 }));
    expect((await s.next()).t).toBe('accepted');
    // A restarted collector reads it back from its audit trail.
    expect((await Consents.load(s.store)).relationshipRevokedAt(s.gw.id.cid)).toBe(atMs);
  });

  it('the relationship revocation resent under a grant issued since withdraws that grant too, audited so a restart agrees; resent as it was, it is not audited again', async () => {
    const s = await setup();
    const gateway = s.gw.id.cid;
    const first = s.dg();
    s.announce(first);
    expect((await s.next()).t).toBe('accepted');
    const atMs = s.d.clock();
    const rev = issueDiscoveryRevocation(s.d.provider, s.gw.id.signer, { collector: s.col.id.cid, nowMs: atMs });
    s.ch.trySend(encodePublish({ t: 'revoke', rev }));
    expect((await s.next()).t).toBe('revoked');
    // Its confirmation lost, the gateway sends it again in the session of a grant issued since (it
    // holds every grant withdrawn while that revocation is in its file).
    const later = s.dg(BODY, { nowMs: atMs + 1000 });
    const laterId = openArtefact(s.d.provider, later, 'discovery-grant').objectId;
    s.announce(later);
    expect((await s.next()).t).toBe('accepted');
    s.ch.trySend(encodePublish({ t: 'revoke', rev }));
    expect((await s.next()).t).toBe('revoked');
    expect(s.consents.isRevoked(laterId)).toBe(true);
    // Before: not audited, so a restarted collector took the later grant again.
    expect((await Consents.load(s.store)).isRevoked(laterId)).toBe(true);
    const applied = async () => (await s.store.auditLog(gateway)).filter((e) => e.event === 'revoke.applied').map((e) => [e.detail.grant, e.detail.resent]);
    expect(await applied()).toEqual([[toHex(openArtefact(s.d.provider, first, 'discovery-grant').objectId), undefined], [toHex(laterId), true]]);
    // A slot revocation sent twice under the grant in force: the second adds nothing, and is answered but not audited.
    const third = s.dg(BODY, { nowMs: atMs + 2000 });
    const thirdId = openArtefact(s.d.provider, third, 'discovery-grant').objectId;
    s.announce(third);
    expect((await s.next()).t).toBe('accepted');
    const slot = issueDiscoveryRevocation(s.d.provider, s.gw.id.signer, { collector: s.col.id.cid, grantId: thirdId, slots: ['tty-2'], nowMs: s.d.clock() });
    for (let i = 0; i < 2; i++) {
      s.ch.trySend(encodePublish({ t: 'revoke', rev: slot }));
      expect((await s.next()).t).toBe('revoked');
    }
    expect((await applied()).slice(2)).toEqual([[toHex(thirdId), undefined]]);
  });

  it('a revocation whose scope names "*" withdraws the whole grant: nothing more is stored under it, also after a restart', async () => {
    const s = await setup();
    const g = s.dg();
    const grantId = openArtefact(s.d.provider, g, 'discovery-grant').objectId;
    s.announce(g);
    expect((await s.next()).t).toBe('accepted');
    s.ch.trySend(encodePublish({ t: 'revoke', rev: issueDiscoveryRevocation(s.d.provider, s.gw.id.signer, { collector: s.col.id.cid, grantId, slots: ['*'], nowMs: s.d.clock() }) }));
    expect((await s.next()).t).toBe('revoked');
    // Before: every reading deleted, then a slot named "*" recorded, and the grant still in force.
    expect(s.consents.isRevoked(grantId)).toBe(true);
    expect((await Consents.load(s.store)).isRevoked(grantId)).toBe(true);
    expect(await refusedWith(s, g)).toMatchObject({ code: 'REVOKED' });
  });

  it("a whole grant revoked deletes the slots it covered, not the gateway's readings under its other grants; an earlier grant's by its accepted scope", async () => {
    const s = await setup();
    const gateway = s.gw.id.cid;
    const rows = (slots: string[]) => slots.flatMap((slot) => [0, 1].map((seq) => ({ slot, device: 'd', kind: 'serial', epoch: 1, seq, ts: 1, value: Uint8Array.of(1) })));
    const older = s.dg({ ...BODY, scope: [{ slot: 'tty-3' }] }, { nowMs: s.d.clock() - 60_000 });
    s.announce(older);
    expect((await s.next()).t).toBe('accepted');
    s.ch.trySend(encodePublish({ t: 'readings', w: 1, rows: rows(['tty-3']) }));
    expect((await s.next()).t).toBe('receipt');
    const g = s.dg();
    s.announce(g);
    expect((await s.next()).t).toBe('accepted');
    s.ch.trySend(encodePublish({ t: 'readings', w: 2, rows: rows(['tty-1', 'tty-2']) }));
    expect((await s.next()).t).toBe('receipt');
    const revoke = (grantId: Uint8Array): void => void s.ch.trySend(encodePublish({ t: 'revoke', rev: issueDiscoveryRevocation(s.d.provider, s.gw.id.signer, { collector: s.col.id.cid, grantId, nowMs: s.d.clock() }) }));
    // The older grant, not the session's: its slots from its grant.accepted entry; the session's stay.
    revoke(openArtefact(s.d.provider, older, 'discovery-grant').objectId);
    expect((await s.next()).t).toBe('revoked');
    expect(await s.store.counts(gateway)).toEqual(new Map([['tty-1', 2], ['tty-2', 2]]));
    // The grant in force: its two slots go.
    await s.store.insert(rows(['tty-4']).map((r) => ({ ...r, gateway }))); // as if under a grant of tty-4 never revoked
    revoke(openArtefact(s.d.provider, g, 'discovery-grant').objectId);
    expect((await s.next()).t).toBe('revoked');
    expect(await s.store.counts(gateway)).toEqual(new Map([['tty-4', 2]]));
    expect(s.consents.isRevoked(openArtefact(s.d.provider, g, 'discovery-grant').objectId)).toBe(true);
    // A grant never accepted here stored nothing: revoking it deletes nothing.
    s.announce(s.dg(BODY, { nowMs: s.d.clock() + 1000 }));
    expect((await s.next()).t).toBe('accepted');
    s.ch.trySend(encodePublish({ t: 'readings', w: 4, rows: rows(['tty-1']) }));
    expect((await s.next()).t).toBe('receipt');
    revoke(openArtefact(s.d.provider, s.dg({ ...BODY, scope: [{ slot: 'tty-1' }] }, { nowMs: s.d.clock() - 1000 }), 'discovery-grant').objectId);
    expect((await s.next()).t).toBe('revoked');
    expect(await s.store.counts(gateway)).toEqual(new Map([['tty-1', 2], ['tty-4', 2]]));
  });

  it('a revocation is recorded before its readings are deleted: stopped midway, the restarted collector refuses its slot and serves none of it', async () => {
    const s = await setup();
    const g = s.dg();
    const grantId = openArtefact(s.d.provider, g, 'discovery-grant').objectId;
    s.announce(g);
    expect((await s.next()).t).toBe('accepted');
    await s.store.insert(Array.from({ length: DELETE_CHUNK_ROWS + 10 }, (_, seq) => ({ gateway: s.gw.id.cid, slot: 'tty-1', device: 'd', kind: 'serial', epoch: 1, seq, ts: 1, value: Uint8Array.of(1) })));
    // The collector is stopped (its store closed) after the first chunk of the deletion.
    const db = (s.store as unknown as { db: DatabaseSync }).db;
    let rows = 0;
    db.function('deleted_one', () => (++rows === DELETE_CHUNK_ROWS && setImmediate(() => void s.store.close()), null));
    db.exec('CREATE TEMP TRIGGER chunk AFTER DELETE ON main.readings BEGIN SELECT deleted_one(); END');
    const closed = new Promise<void>((r) => s.gateway.once('close', () => r()));
    s.ch.trySend(encodePublish({ t: 'revoke', rev: issueDiscoveryRevocation(s.d.provider, s.gw.id.signer, { collector: s.col.id.cid, grantId, slots: ['tty-1'], nowMs: s.d.clock() }) }));
    await closed; // no `revoked`: the session failed
    const restarted = SqliteStore.open(s.file);
    try {
      expect([...(await Consents.load(restarted)).revokedSlots(grantId)]).toEqual(['tty-1']);
      expect(await restarted.query({ slot: 'tty-1' })).toEqual([]);
      expect(await restarted.unpurged()).toMatchObject([{ gateway: s.gw.id.cid, slots: ['tty-1'] }]);
    } finally {
      await restarted.close();
    }
  });

  it('an announcement is taken only once a deletion left unfinished for that gateway is done', async () => {
    const s = await setup();
    const gateway = s.gw.id.cid;
    await s.store.insert([0, 1, 2].map((seq) => ({ gateway, slot: 'tty-1', device: 'd', kind: 'serial', epoch: 1, seq, ts: 1, value: Uint8Array.of(1) })));
    // What a failure right after the record leaves (the deletion not started).
    const scope = { revocation: new Uint8Array(32).fill(9), gateway, slots: ['tty-1'] };
    await s.store.revoke(scope, { at: 1, gateway, event: 'revoke.applied', detail: { grant: '00'.repeat(32), slots: ['tty-1'] } });
    s.announce(s.dg());
    expect((await s.next()).t).toBe('accepted');
    expect(await s.store.unpurged()).toEqual([]);
    expect((await s.store.auditLog(gateway)).map((e) => [e.event, e.detail.deleted])).toEqual([['revoke.applied', undefined], ['revoke.deleted', 3], ['grant.accepted', undefined]]);
  });

  it(`a gateway that already revoked ${MAX_REVOKED_GRANTS_PER_GATEWAY} grants cannot grow the collector's memory with more; a revocation of one it knows still applies`, async () => {
    const consents = new Consents();
    const s = await setup({ consents });
    const gw = toHex(s.gw.id.cid);
    for (let i = 0; i < MAX_REVOKED_GRANTS_PER_GATEWAY; i++) consents.note(gw, i.toString(16).padStart(64, '0'));
    s.announce(s.dg());
    expect((await s.next()).t).toBe('accepted');
    const revoke = (grantId: Uint8Array): void =>
      void s.ch.trySend(encodePublish({ t: 'revoke', rev: issueDiscoveryRevocation(s.d.provider, s.gw.id.signer, { collector: s.col.id.cid, grantId, slots: ['tty-2'], nowMs: s.d.clock() }) }));
    revoke(new Uint8Array(32).fill(0xee)); // one more grant: refused, audited, no answer
    revoke(new Uint8Array(32)); // the first it revoked: applied
    expect((await s.next()).t).toBe('revoked');
    const audit = await s.store.auditLog(s.gw.id.cid);
    expect(audit.filter((e) => e.event === 'revoke.refused').map((e) => e.detail.code)).toEqual(['REVOCATION_LIMIT']);
    expect(audit.filter((e) => e.event === 'revoke.applied').map((e) => e.detail.grant)).toEqual(['00'.repeat(32)]);
    expect(consents.mayNote(gw, 'ee'.repeat(32))).toBe(false);
  });
});
