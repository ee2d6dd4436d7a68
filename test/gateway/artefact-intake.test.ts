// ArtefactIntake (src/gateway/artefact-intake.ts): the one path for renewed artefacts in a running
// gateway — adoption through the TrustStore's rule, the gateway's own PCert replaced in place (so the
// next attachment presents it), log lines with what to do, repeats of one refusal kept at debug,
// and whatever an RN sends, a bounded number of warnings (the first of each code, then one summary
// a minute).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeArtefactFile } from '../../src/files/artefact-file.js';
import { ArtefactIntake, type IntakeKind } from '../../src/gateway/artefact-intake.js';
import { OwnPCert } from '../../src/gateway/own-pcert.js';
import { decodeEnvelope } from '../../src/uzp/artefacts/envelope.js';
import { equal, toHex } from '../../src/uzp/bytes.js';
import { ErrorCode } from '../../src/uzp/errors.js';
import { TestDomain } from '../helpers/domain.js';
import { FakeClock } from '../helpers/fake-clock.js';

const dir = mkdtempSync(join(tmpdir(), 'uzp-intake-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function setup() {
  const d = new TestDomain();
  const trust = d.trust();
  const rnId = d.member('rn').id;
  const gw = d.member('gateway');
  trust.setRnSet(d.rnSet([{ id: rnId, addresses: ['127.0.0.1:7443'] }]));
  const own = new OwnPCert(trust.validatePCert(gw.pcert, { role: 'gateway', cid: gw.id.cid }));
  const said: { level: string; line: Record<string, unknown> }[] = [];
  const rec = (level: string) => (line: object) => said.push({ level, line: line as Record<string, unknown> });
  const adopted: IntakeKind[] = [];
  const clock = new FakeClock();
  const refusals = { handshakes: 0, artefacts: 0, earlyData: 0 };
  const intake = new ArtefactIntake({ trust, pcert: own, log: { debug: rec('debug'), info: rec('info'), warn: rec('warn') }, onAdopted: (k) => adopted.push(k), clock, refusals });
  const file = (name: string, bytes: Uint8Array): string => {
    const f = join(dir, `${toHex(rnId.cid).slice(0, 8)}-${name}`);
    writeArtefactFile(f, bytes);
    return f;
  };
  return { d, trust, rnId, gw, own, said, adopted, intake, file, clock, refusals };
}

describe('ArtefactIntake', () => {
  it('adopts a newer RN Set from a file, then says unchanged (debug); a stale file is refused once at warn, then at debug', () => {
    const t = setup();
    const older = t.d.rnSet([{ id: t.rnId, addresses: ['127.0.0.1:7443'] }]); // sequence 2
    const newer = t.d.rnSet([{ id: t.rnId, addresses: ['127.0.0.1:7444'] }]); // sequence 3
    const f = t.file('rn-set.uzp', newer);
    expect(t.intake.offerFile('rn-set', f)).toEqual({ outcome: 'adopted' });
    expect(t.adopted).toEqual(['rn-set']);
    expect(t.said.at(-1)).toMatchObject({ level: 'info', line: { event: 'artefact.adopted', artefact: 'rn-set', source: 'file', file: f, sequence: 3, previous: { sequence: 1 } } });
    expect(t.intake.offerFile('rn-set', f)).toEqual({ outcome: 'unchanged' });
    expect(t.said.at(-1)).toMatchObject({ level: 'debug', line: { event: 'artefact.unchanged' } });

    const g = t.file('old-rn-set.uzp', older);
    expect(t.intake.offerFile('rn-set', g)).toEqual({ outcome: 'refused', code: ErrorCode.ARTEFACT_STALE_SEQUENCE });
    expect(t.said.at(-1)).toMatchObject({ level: 'warn', line: { event: 'artefact.refused', code: ErrorCode.ARTEFACT_STALE_SEQUENCE, advice: expect.stringContaining('older than the one in use') } });
    t.intake.offerFile('rn-set', g);
    expect(t.said.at(-1)?.level).toBe('debug');
    expect(t.trust.rnSet?.sequence).toBe(3);
    expect(t.adopted).toEqual(['rn-set']);
  });

  it('an RN Set listing one address under two RNs is adopted, with one warning naming both entries, the address and what to do', () => {
    const t = setup();
    const other = t.d.member('rn').id;
    const shared = t.d.rnSet([
      { id: t.rnId, addresses: ['rn.example:7443', '127.0.0.1:7443'] },
      { id: other, addresses: ['RN.Example:07443'] },
    ]);
    const f = t.file('shared-rn-set.uzp', shared);
    expect(t.intake.offerFile('rn-set', f)).toEqual({ outcome: 'adopted' });
    expect(t.adopted).toEqual(['rn-set']);
    const warned = t.said.filter((s) => s.line.event === 'rn_set.shared_address');
    expect(warned).toEqual([
      {
        level: 'warn',
        line: expect.objectContaining({ source: f, address: 'rn.example:7443', entries: [0, 1], rns: [toHex(t.rnId.publicKey), toHex(other.publicKey)] }),
      },
    ]);
    // A statement with an address per RN says nothing of the kind.
    const fine = t.file('fine-rn-set.uzp', t.d.rnSet([{ id: t.rnId, addresses: ['127.0.0.1:7443'] }, { id: other, addresses: ['127.0.0.1:7444'] }]));
    expect(t.intake.offerFile('rn-set', fine)).toEqual({ outcome: 'adopted' });
    expect(t.said.filter((s) => s.line.event === 'rn_set.shared_address')).toHaveLength(1);
  });

  it('a renewed PCert for our key replaces ours (the identity getter presents it); another key is refused', () => {
    const t = setup();
    const identity = t.own.identity({ seed: t.gw.id.seed });
    const before = identity.pcert;
    const renewed = t.d.pcert(t.gw.id, 'gateway', { validSeconds: 2 * 86_400 });
    expect(t.intake.offerFile('pcert', t.file('gw.pcert', renewed))).toEqual({ outcome: 'adopted' });
    expect(equal(identity.pcert, renewed)).toBe(true);
    expect(equal(identity.pcert, before)).toBe(false);
    expect(toHex(t.own.valid.objectId)).toBe(toHex(decodeEnvelope(t.d.provider, renewed).objectId));

    const other = t.d.member('gateway').pcert;
    expect(t.intake.offerFile('pcert', t.file('other.pcert', other))).toEqual({ outcome: 'refused', code: ErrorCode.PCERT_KEY_MISMATCH });
    expect(equal(identity.pcert, renewed)).toBe(true);
  });

  it('a missing file is a refusal, not an exception; an RN may not hand over a PCert or junk', () => {
    const t = setup();
    expect(t.intake.offerFile('revocation', join(dir, 'missing.uzp'))).toMatchObject({ outcome: 'refused', code: 'FILE_NOT_FOUND' });
    expect(t.intake.offerFromRn(t.d.pcert(t.gw.id, 'gateway', { validSeconds: 9 * 86_400 }), '127.0.0.1:7443')).toEqual({ outcome: 'refused', code: ErrorCode.ARTEFACT_TYPE });
    expect(t.intake.offerFromRn(new Uint8Array(100), '127.0.0.1:7443').outcome).toBe('refused');
    expect(t.said.filter((s) => s.line.event === 'artefact.refused').map((s) => s.line.source)).toEqual(['file', 'rn', 'rn']);
    expect(t.adopted).toEqual([]);
  });

  it('a newer revocation list from an RN is adopted and handed on', () => {
    const t = setup();
    const op = t.d.member('operator');
    expect(t.intake.offerFromRn(t.d.revocation([op.id.cid]), '127.0.0.1:7443')).toEqual({ outcome: 'adopted' });
    expect(t.trust.isRevoked(op.id.cid)).toBe(true);
    expect(t.adopted).toEqual(['revocation']);
    expect(t.said.at(-1)).toMatchObject({ line: { event: 'artefact.adopted', source: 'rn', rn: '127.0.0.1:7443' } });
  });

  it('an RN alternating junk, a PCert and the list in force: the first refusal of each code at warn, then one summary a minute with the counts; every refusal counted', () => {
    const t = setup();
    const rn = '127.0.0.1:7443';
    const list = t.d.revocation([]);
    expect(t.intake.offerFromRn(list, rn)).toEqual({ outcome: 'adopted' });
    const pcert = t.d.pcert(t.gw.id, 'gateway', { validSeconds: 9 * 86_400 });
    const codes = new Set<string>();
    for (let i = 0; i < 3_000; i++) {
      // The reviewer's RN: junk, a PCert (not taken from RNs), the list in force (unchanged, which used to reset the repeat).
      const r = i % 3 === 0 ? t.intake.offerFromRn(new Uint8Array(100).fill(i & 0xff), rn) : i % 3 === 1 ? t.intake.offerFromRn(pcert, rn) : t.intake.offerFromRn(list, rn);
      if (r.outcome === 'refused') codes.add(r.code);
    }
    expect(codes.size).toBe(2);
    const warned = () => t.said.filter((s) => s.level === 'warn');
    expect(warned().map((s) => s.line.code)).toEqual([...codes]);
    expect(t.said.filter((s) => s.line.event === 'artefact.refused' && s.level === 'debug')).toHaveLength(2_000 - 2);
    expect(t.refusals.artefacts).toBe(2_000);
    t.clock.advance(60_000);
    const summary = warned().at(-1)!;
    expect(summary.line).toMatchObject({ event: 'artefact.refused_suppressed', source: 'rn', rn, suppressed: 1_998, artefacts: ['artefact'] });
    expect(Object.values(summary.line.codes as Record<string, number>).sort()).toEqual([999, 999]);
    expect(warned()).toHaveLength(3);
    // A refusal from a file is not the RN's: said in full, and not counted as the RN's.
    t.intake.offerFile('revocation', join(dir, 'missing.uzp'));
    expect(warned().at(-1)?.line).toMatchObject({ event: 'artefact.refused', source: 'file', code: 'FILE_NOT_FOUND' });
    expect(t.refusals.artefacts).toBe(2_000);
  });
});
