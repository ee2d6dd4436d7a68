// The Grant model through every real part (issue #10): Grants issued by `uzpgw pantheon grant` for
// two slots of one gateway stay usable after a third is issued (no Grant disables another); one Grant
// may reach several slots, each with its own purposes; a typo'd purpose is refused at issue, so it
// can never lock anyone out. RN and gateway are processes; the operator is a real Endpoint.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readArtefactFile } from '../../src/files/artefact-file.js';
import { loadTrustAnchor } from '../../src/files/trust-anchor.js';
import { SlotChannel } from '../../src/operator/slot-channel.js';
import { TrustStore } from '../../src/uzp/artefacts/trust.js';
import { nodeProvider as p } from '../../src/uzp/crypto/node.js';
import { Endpoint } from '../../src/uzp/endpoint.js';
import { RnLink } from '../../src/uzp/link/rn-link.js';
import { startTwoSlotGateway, type TwoSlotGateway } from '../helpers/two-slot-gateway.js';

let g: TwoSlotGateway;
const at = (f: string): string => g.at(f);
const issue = (out: string, ...rest: string[]) => g.issue(out, ...rest);

beforeAll(async () => {
  g = await startTwoSlotGateway();
}, 60_000);

afterAll(async () => {
  await g?.close();
});

/** A session under the Grant in `file`, then a serial channel on `slot`: echoes "ping" or says why not. */
async function echoThrough(file: string, slot: string): Promise<string> {
  const trust = new TrustStore({ provider: p, rootPublicKey: loadTrustAnchor(p, at('domain/trust.json')).rootPublicKey });
  trust.setRnSet(readArtefactFile(at('rn-set.uzp')));
  const pcert = readArtefactFile(at('op.pcert'));
  const link = await RnLink.attach({ address: g.rnAddress, trust, identity: { seed: g.op.seed, pcert } });
  try {
    const session = await new Endpoint({ trust, identity: { cid: g.op.cid, signer: g.op.signer, pcert }, link }).connect(g.gw.cid, readArtefactFile(at(file)));
    try {
      const ch = await SlotChannel.open(session, slot, 'serial').catch((e: Error) => e);
      if (ch instanceof Error) return `refused: ${ch.message}`;
      const got: number[] = [];
      const back = new Promise<void>((resolve) => ch.on('data', (b: Uint8Array) => (got.push(...b), got.length >= 4 && resolve())));
      await ch.write(new TextEncoder().encode('ping'));
      await back;
      return new TextDecoder().decode(Uint8Array.from(got));
    } finally {
      session.close();
    }
  } finally {
    link.close();
  }
}

describe('Grants issued with pantheon grant, used through RN and gateway processes', () => {
  it('two Grants for two slots both stay usable after a third Grant is issued', async () => {
    const a = await issue('a.grant', '--slot', 'tty-1', '--purpose', 'serial.read', '--purpose', 'serial.write');
    const b = await issue('b.grant', '--slot', 'tty-2', '--purpose', 'serial.read', '--purpose', 'serial.write');
    expect([a.code, b.code], a.err + b.err).toEqual([0, 0]);
    expect(await echoThrough('a.grant', 'tty-1')).toBe('ping');
    const c = await issue('c.grant', '--slot', 'tty-1', '--purpose', 'serial.read');
    expect(JSON.parse(c.out).nonce).toBe(3);
    // Profile version 1 refused a and b from here on (GRANT_NONCE_STALE at the RN).
    expect(await echoThrough('b.grant', 'tty-2')).toBe('ping');
    expect(await echoThrough('a.grant', 'tty-1')).toBe('ping');
  }, 60_000);

  it('one Grant reaches two slots, each with its own purposes', async () => {
    const r = await issue('both.grant', '--slot', 'tty-1', '--slot', 'tty-2@echo-tty-2', '--purpose', 'tty-1/serial.read', '--purpose', 'tty-1/serial.write', '--purpose', 'tty-2/serial.read', '--purpose', 'tty-2/serial.write');
    expect(r.code, r.err).toBe(0);
    expect(await echoThrough('both.grant', 'tty-1')).toBe('ping');
    expect(await echoThrough('both.grant', 'tty-2')).toBe('ping');
    // A Grant for tty-1 only does not reach tty-2.
    expect(await echoThrough('a.grant', 'tty-2')).toMatch(/^refused: .*SLOT_NOT_GRANTED/);
  }, 60_000);

  it('a typo in a purpose is refused at issue, so it never becomes a Grant that locks anyone out', async () => {
    const r = await issue('typo.grant', '--slot', 'tty-1', '--purpose', 'serial.raed');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/"serial\.raed" is not a purpose the gateway knows; did you mean serial\.read\?/);
    expect(await echoThrough('a.grant', 'tty-1')).toBe('ping');
  }, 60_000);
});
