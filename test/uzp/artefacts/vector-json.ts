// JSON <-> typed bodies for test/vectors/artefacts.json (bytes as lowercase hex).

import type { ArtefactFields } from '../../../src/uzp/artefacts/envelope.js';
import type { BodyOf, CodecType } from '../../../src/uzp/artefacts/codecs.js';
import type { Envelope, GrantBody, PCertBody, Purpose, RevocationBody, RnSetBody } from '../../../src/uzp/artefacts/types.js';
import { fromHex, toHex } from '../../../src/uzp/bytes.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
type J = any;

export function bodyToJson(type: CodecType, body: unknown): J {
  switch (type) {
    case 'pcert': {
      const b = body as PCertBody;
      return { public: toHex(b.publicKey), role: b.role, ...(b.name !== undefined ? { name: b.name } : {}) };
    }
    case 'grant': {
      const b = body as GrantBody;
      return {
        scopes: b.scopes.map((s) => ({
          slot: s.slot,
          ...(s.device !== undefined ? { device: s.device } : {}),
          purposes: s.purposes.map((p) => ({
            purpose: p.purpose,
            ...(p.units ? { units: [...p.units] } : {}),
            ...(p.tables ? { tables: [...p.tables] } : {}),
            ...(p.registers ? { registers: p.registers.map(([x, y]) => [x, y]) } : {}),
            ...(p.topics ? { topics: [...p.topics] } : {}),
          })),
        })),
        nonce: b.nonce,
        early_data: b.earlyData,
        no_replay: b.noReplay,
      };
    }
    case 'rn-set': {
      const b = body as RnSetBody;
      return { scope: b.scope, rns: b.rns.map((e) => ({ cid: toHex(e.cid), public: toHex(e.publicKey), addresses: [...e.addresses], roles: [...e.roles] })) };
    }
    case 'revocation': {
      const b = body as RevocationBody;
      return { cids: b.cids.map(toHex), object_ids: b.objectIds.map(toHex) };
    }
  }
}

export function bodyFromJson<T extends CodecType>(type: T, j: J): BodyOf[T] {
  switch (type) {
    case 'pcert':
      return { publicKey: fromHex(j.public), role: j.role, ...(j.name !== undefined ? { name: j.name } : {}) } as BodyOf[T];
    case 'grant':
      return {
        scopes: j.scopes.map((s: J) => ({
          slot: s.slot,
          ...(s.device !== undefined ? { device: s.device } : {}),
          purposes: s.purposes.map(
            (p: J): Purpose => ({
              purpose: p.purpose,
              ...(p.units ? { units: p.units } : {}),
              ...(p.tables ? { tables: p.tables } : {}),
              ...(p.registers ? { registers: p.registers.map((r: number[]) => [r[0], r[1]] as const) } : {}),
              ...(p.topics ? { topics: p.topics } : {}),
            }),
          ),
        })),
        nonce: j.nonce,
        earlyData: j.early_data,
        noReplay: j.no_replay,
      } as BodyOf[T];
    case 'rn-set':
      return { scope: j.scope, rns: j.rns.map((e: J) => ({ cid: fromHex(e.cid), publicKey: fromHex(e.public), addresses: e.addresses, roles: e.roles })) } as BodyOf[T];
    default:
      return { cids: j.cids.map(fromHex), objectIds: j.object_ids.map(fromHex) } as BodyOf[T];
  }
}

export function fieldsToJson(f: ArtefactFields | Envelope<unknown>): J {
  return {
    ...(f.subject ? { subject: toHex(f.subject) } : {}),
    ...(f.audience ? { audience: toHex(f.audience) } : {}),
    issued_at: f.issuedAt,
    not_before: f.notBefore,
    expires_at: f.expiresAt,
    epoch: f.epoch ?? 0,
    sequence: f.sequence ?? 0,
    extensions: (f.extensions ?? []).map((e) => ({ id: e.id, critical: e.critical, value_cbor: toHex(e.value) })),
  };
}

export function fieldsFromJson(type: CodecType, j: J): ArtefactFields {
  return {
    type,
    ...(j.subject ? { subject: fromHex(j.subject) } : {}),
    ...(j.audience ? { audience: fromHex(j.audience) } : {}),
    issuedAt: j.issued_at,
    notBefore: j.not_before,
    expiresAt: j.expires_at,
    epoch: j.epoch,
    sequence: j.sequence,
    extensions: j.extensions.map((e: J) => ({ id: e.id, critical: e.critical, value: fromHex(e.value_cbor) })),
  };
}
