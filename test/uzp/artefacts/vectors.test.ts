// Checked-in vectors (test/vectors/artefacts.json): decoding and re-encoding reproduce every byte,
// signing the JSON inputs reproduces every byte (Ed25519 is deterministic), signatures verify.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { codecFor, type CodecType } from '../../../src/uzp/artefacts/codecs.js';
import { decodeEnvelope, encodeBody, artefactSignatureInput } from '../../../src/uzp/artefacts/envelope.js';
import { openAndVerify, openArtefact } from '../../../src/uzp/artefacts/open.js';
import { signArtefact } from '../../../src/uzp/artefacts/sign.js';
import { encodeCanonical } from '../../../src/uzp/cbor.js';
import { equal, fromHex, toHex } from '../../../src/uzp/bytes.js';
import { identityFromSeed } from '../../../src/uzp/identity/identity.js';
import { blake3SingleBlock } from '../identity/blake3-ref.js';
import { FakeClock, provider, store } from './fixtures.js';
import { bodyFromJson, bodyToJson, fieldsFromJson } from './vector-json.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
const file = JSON.parse(readFileSync(new URL('../../vectors/artefacts.json', import.meta.url), 'utf8')) as any;
const rootPublic = fromHex(file.identities.root.public);
const resolveRoot = (kid: Uint8Array) => (equal(kid, fromHex(file.identities.root.cid)) ? rootPublic : undefined);

describe('artefact vectors', () => {
  it('has one vector of each type', () => {
    expect(new Set(file.vectors.map((v: any) => v.type))).toEqual(new Set(['pcert', 'grant', 'rn-set', 'revocation']));
    expect(file.signature_context_prefix).toBe('uzp-gw/1 ');
  });

  it('identities: seed -> public key (RFC 8032) -> CID, hand-checked with an independent BLAKE3', () => {
    for (const [name, id] of Object.entries<any>(file.identities)) {
      const derived = identityFromSeed(provider, fromHex(id.seed));
      expect(toHex(derived.publicKey), name).toBe(id.public);
      expect(toHex(blake3SingleBlock(fromHex(id.public))), name).toBe(id.cid);
    }
  });

  for (const v of file.vectors as any[]) {
    describe(v.name, () => {
      const bytes = fromHex(v.envelope_hex);
      const type = v.type as CodecType;

      it('decodes, and re-encoding reproduces the body and the envelope byte for byte', () => {
        const env = openArtefact(provider, bytes, type);
        expect(toHex(env.bodyBytes)).toBe(v.body_hex);
        expect(toHex(env.objectId)).toBe(v.object_id);
        expect(toHex(env.issuer)).toBe(v.fields.issuer);
        expect(bodyToJson(type, env.body)).toEqual(v.body);
        // A profile-version-1 Grant is read (as one scope), never written: there is nothing to re-encode.
        if (v.decode_only === true) return;
        const body = encodeBody(env, codecFor(type).encode(env.body as never));
        expect(toHex(body)).toBe(v.body_hex);
        const again = encodeCanonical({ body, sigs: env.signatures.map((s) => ({ alg: s.alg, kid: s.kid, sig: s.sig })) });
        expect(toHex(again)).toBe(v.envelope_hex);
      });

      // A version-1 vector is only ever decoded: nothing signs that form any more.
      if (v.decode_only !== true)
        it('signing the JSON inputs with the root seed reproduces the envelope', () => {
        const signer = identityFromSeed(provider, fromHex(file.identities.root.seed)).signer;
        const out = signArtefact(provider, signer, fieldsFromJson(type, v.fields) as never, bodyFromJson(type, v.body));
        expect(toHex(out)).toBe(v.envelope_hex);
      });

      it('object_id is BLAKE3-256 of the body and the signature input is as documented', () => {
        expect(toHex(provider.blake3(fromHex(v.body_hex)))).toBe(v.object_id);
        const input = artefactSignatureInput(type, fromHex(v.body_hex));
        expect(toHex(input)).toBe(v.signature_input_hex);
        const ctx = `uzp-gw/1 ${type}`;
        expect(input[0]! * 256 + input[1]!).toBe(ctx.length);
        expect(new TextDecoder().decode(input.subarray(2, 2 + ctx.length))).toBe(ctx);
      });

      it('the signature verifies against the root key, and fails for any flipped body bit', () => {
        expect(() => openAndVerify(provider, bytes, type, resolveRoot)).not.toThrow();
        const env = decodeEnvelope(provider, bytes);
        const input = fromHex(v.signature_input_hex);
        input[input.length - 1]! ^= 1;
        expect(provider.ed25519Verify(rootPublic, input, env.signatures[0]!.sig)).toBe(false);
      });

      it('validates through a TrustStore inside its window', () => {
        const clock = new FakeClock(v.fields.not_before + 60);
        const ts = store(clock);
        if (type === 'pcert') expect(ts.validatePCert(bytes).body.role).toBe(v.body.role);
        else if (type === 'grant') expect(ts.validateGrant(bytes, { audience: fromHex(v.fields.audience) }).body.nonce).toBe(v.body.nonce);
        else if (type === 'rn-set') expect(ts.setRnSet(bytes).sequence).toBe(v.fields.sequence);
        else expect(ts.setRevocation(bytes).body.cids.length).toBe(v.body.cids.length);
      });
    });
  }
});
