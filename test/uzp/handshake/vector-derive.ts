// A second derivation of one handshake vector, written from docs/PROFILE.md §End-to-end handshake
// alone: byte offsets of CH1 and the SH flight, the EID rule, the key schedule, the sealed responder
// flight, both Finished MACs and an exporter. HMAC, HKDF and the AEADs come from node:crypto; only
// X25519, ML-KEM, Ed25519 and BLAKE3 are taken from a provider (pinned by their own RFC vectors).
// Nothing from src/uzp/handshake is used, so a bug there cannot vouch for itself.

import { createCipheriv, createHash, createHmac } from 'node:crypto';
import { expect } from 'vitest';
import type { CryptoProvider } from '../../../src/uzp/crypto/provider.js';

export interface HandshakeVector {
  name: string;
  suite: string;
  suite_id: number;
  initiator_offer: number[];
  responder_preference: number[];
  random_seed: string;
  time_ms: number;
  root_seed: string;
  initiator_seed: string;
  responder_seed: string;
  initiator_pcert: string;
  responder_pcert: string;
  grant: string;
  initiator_x25519_private: string;
  initiator_mlkem_seed?: string;
  initiator_random: string;
  responder_x25519_private: string;
  responder_mlkem_m?: string;
  responder_random: string;
  ee_max_block_plaintext: number;
  ee_window_blocks: number;
  ch1: string;
  sh_flight: string;
  finished: string;
  eid_i: string;
  eid_r: string;
  shared_secret: string;
  th_sh: string;
  th_app: string;
  i_ap_traffic: string;
  r_ap_traffic: string;
  exporter_uzpif_zpit_key_ctx_empty_32: string;
}

const hex = (s: string | undefined): Buffer => Buffer.from(s ?? '', 'hex');
const sha256 = (...b: Buffer[]): Buffer => createHash('sha256').update(Buffer.concat(b)).digest();
const hmac = (key: Buffer, data: Buffer): Buffer => createHmac('sha256', key).update(data).digest();
const u16 = (n: number): Buffer => Buffer.from([n >> 8, n & 0xff]);
const u32 = (n: number): Buffer => Buffer.from([n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]);

/** Expand-Label(S, label, ctx, L) = HKDF-Expand(S, u16 L || u8 len || "uzp-gw/1 " + label || u8 len(ctx) || ctx, L). */
function expandLabel(secret: Buffer, label: string, ctx: Buffer, length: number): Buffer {
  const full = Buffer.from('uzp-gw/1 ' + label);
  const info = Buffer.concat([u16(length), Buffer.from([full.length]), full, Buffer.from([ctx.length]), ctx]);
  const out: Buffer[] = [];
  let t: Buffer = Buffer.alloc(0);
  for (let i = 1; Buffer.concat(out).length < length; i++) out.push((t = hmac(secret, Buffer.concat([t, info, Buffer.from([i])]))));
  return Buffer.concat(out).subarray(0, length);
}

function seal(suiteId: number, secret: Buffer, ad: Buffer, pt: Buffer): Buffer {
  const key = expandLabel(secret, 'key', Buffer.alloc(0), 32);
  const iv = expandLabel(secret, 'iv', Buffer.alloc(0), 12);
  const c = createCipheriv(suiteId === 2 ? 'aes-256-gcm' : 'chacha20-poly1305', key, iv, { authTagLength: 16 } as never) as unknown as {
    setAAD(b: Buffer, o: object): void;
    update(b: Buffer): Buffer;
    final(): Buffer;
    getAuthTag(): Buffer;
  };
  c.setAAD(ad, { plaintextLength: pt.length });
  return Buffer.concat([c.update(pt), c.final(), c.getAuthTag()]);
}

/** handshake AD = u8 13 || "uzp-handshake" || th_sh || u8 direction. */
const handshakeAd = (thSh: Buffer, direction: number): Buffer => Buffer.concat([Buffer.from([13]), Buffer.from('uzp-handshake'), thSh, Buffer.from([direction])]);

/** signatureInput(ctx, m) = u16(len ctx) || ctx || u32(len m) || m. */
const signatureInput = (ctx: string, m: Buffer): Buffer => Buffer.concat([u16(ctx.length), Buffer.from(ctx), u32(m.length), m]);

/** Re-derives every recorded output of `v` from its named inputs and the profile text; fails on the first difference. */
export function deriveIndependently(p: CryptoProvider, v: HandshakeVector): void {
  const hybrid = v.suite_id === 3;
  const offersHybrid = v.initiator_offer.includes(3);
  const xi = p.x25519PublicKey(hex(v.initiator_x25519_private));
  const xr = p.x25519PublicKey(hex(v.responder_x25519_private));
  const kem = offersHybrid ? p.mlkem768Generate(hex(v.initiator_mlkem_seed)) : undefined;
  const enc = hybrid ? p.mlkem768Encapsulate(kem!.publicKey, hex(v.responder_mlkem_m)) : undefined;
  const initiatorPk = p.ed25519PublicKey(hex(v.initiator_seed));
  const responderPk = p.ed25519PublicKey(hex(v.responder_seed));
  const responderCid = Buffer.from(p.blake3(responderPk));

  // [1] CH1, field by field (profile table "[1] CH1").
  const ch1 = hex(v.ch1);
  let o = 0;
  const take = (n: number): Buffer => ch1.subarray(o, (o += n));
  expect(take(2).toString('hex'), 'CH1 type, version').toBe('0101');
  expect(take(32).toString('hex'), 'CH1 random').toBe(v.initiator_random);
  const n = take(1)[0]!;
  expect([...Array(n).keys()].map(() => take(2).readUInt16BE(0)), 'CH1 suites').toEqual(v.initiator_offer);
  expect(take(32).toString('hex'), 'CH1 X25519 share').toBe(Buffer.from(xi).toString('hex'));
  const ek = take(take(2).readUInt16BE(0));
  expect(ek.toString('hex'), 'CH1 ML-KEM encapsulation key').toBe(kem === undefined ? '' : Buffer.from(kem.publicKey).toString('hex'));
  expect(take(32).equals(responderCid), 'CH1 target CID').toBe(true);
  take(32); // Grant object_id: pinned by test/vectors/artefacts.json rules, checked by the responder
  expect(take(take(2).readUInt16BE(0)).toString('hex'), 'CH1 PCert').toBe(v.initiator_pcert);
  expect(take(1)[0], 'CH1 extension count').toBe(0);
  const body = ch1.subarray(0, o);
  expect(p.ed25519Verify(initiatorPk, signatureInput('uzp-gw/1 eid-binding', body), take(64)), 'EID binding signature').toBe(true);
  expect(o).toBe(ch1.length);

  // [3] SH flight header.
  const sh = hex(v.sh_flight);
  o = 0;
  const takeSh = (k: number): Buffer => sh.subarray(o, (o += k));
  expect(takeSh(2).toString('hex'), 'SH type, version').toBe('0201');
  expect(takeSh(32).toString('hex'), 'SH random').toBe(v.responder_random);
  expect(takeSh(2).readUInt16BE(0), 'SH suite').toBe(v.suite_id);
  expect(takeSh(32).toString('hex'), 'SH X25519 share').toBe(Buffer.from(xr).toString('hex'));
  const ct = takeSh(takeSh(2).readUInt16BE(0));
  expect(ct.toString('hex'), 'SH ML-KEM ciphertext').toBe(enc === undefined ? '' : Buffer.from(enc.cipherText).toString('hex'));
  const header = sh.subarray(0, o);
  const sealed = takeSh(takeSh(4).readUInt32BE(0));
  expect(o).toBe(sh.length);

  // EIDs: the initiator's covers the ML-KEM key it sent (even when the suite chosen is classical),
  // the responder's the ciphertext it sent (none for a classical suite).
  expect(Buffer.from(p.blake3(Buffer.concat([xi, ek]))).toString('hex'), 'EID_I').toBe(v.eid_i);
  expect(Buffer.from(p.blake3(Buffer.concat([xr, ct]))).toString('hex'), 'EID_R').toBe(v.eid_r);

  // Key schedule.
  const x = Buffer.from(p.x25519(hex(v.initiator_x25519_private), xr));
  const shared = enc === undefined ? x : Buffer.concat([enc.sharedSecret, x]);
  expect(shared.toString('hex'), 'shared').toBe(v.shared_secret);
  const thSh = sha256(ch1, header);
  expect(thSh.toString('hex'), 'th_sh').toBe(v.th_sh);
  const hs = hmac(Buffer.alloc(32), shared);
  const iHs = expandLabel(hs, 'i hs traffic', thSh, 32);
  const rHs = expandLabel(hs, 'r hs traffic', thSh, 32);
  const ee = Buffer.concat([u32(v.ee_max_block_plaintext), u32(v.ee_window_blocks), Buffer.from([0])]);
  const certNoSig = Buffer.concat([u16(hex(v.responder_pcert).length), hex(v.responder_pcert)]);
  const cv = p.signer(hex(v.responder_seed)).sign(signatureInput('uzp-gw/1 responder-verify', sha256(ch1, header, ee, certNoSig)));
  const cert = Buffer.concat([certNoSig, cv]);
  const finR = hmac(expandLabel(rHs, 'finished', Buffer.alloc(0), 32), sha256(ch1, header, ee, cert));
  const inner = Buffer.concat([ee, cert, finR]);
  expect(seal(v.suite_id, rHs, handshakeAd(thSh, 1), inner).toString('hex'), 'SH sealed EE || CERT_R || FIN_R').toBe(sealed.toString('hex'));
  const thApp = sha256(ch1, header, inner);
  expect(thApp.toString('hex'), 'th_app').toBe(v.th_app);
  const finI = hmac(expandLabel(iHs, 'finished', Buffer.alloc(0), 32), thApp);
  expect(Buffer.concat([Buffer.from([3]), seal(v.suite_id, iHs, handshakeAd(thSh, 0), finI)]).toString('hex'), 'Finished_I').toBe(v.finished);
  const master = hmac(expandLabel(hs, 'derived', sha256(), 32), Buffer.alloc(32));
  expect(expandLabel(master, 'i ap traffic', thApp, 32).toString('hex'), 'i_ap').toBe(v.i_ap_traffic);
  expect(expandLabel(master, 'r ap traffic', thApp, 32).toString('hex'), 'r_ap').toBe(v.r_ap_traffic);
  const exp = expandLabel(master, 'exp master', thApp, 32);
  const binding = sha256(Buffer.from(p.blake3(initiatorPk)), responderCid, u16(v.suite_id), ee);
  const secret = expandLabel(exp, 'exp uzpif-zpit-key', binding, 32);
  expect(expandLabel(secret, 'exporter', sha256(), 32).toString('hex'), 'exporter').toBe(v.exporter_uzpif_zpit_key_ctx_empty_32);
}
