// `uzpgw connect` says why (issue #10): what the operator's own files would make fail is found
// before any network and explained (key vs PCert, the Grant's slot, mode, gateway, window, a busy or
// non-loopback --listen); what the gateway refuses is explained with the Grant held; the connected
// line says how long the Grant has left. Real RN and gateway processes behind it.

import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeKeyFile } from '../../src/files/keyfile.js';
import { explainRefusal, grantDoesNotCover } from '../../src/operator/grant-text.js';
import type { GrantBody } from '../../src/uzp/artefacts/types.js';
import { nodeProvider as p } from '../../src/uzp/crypto/node.js';
import { generateIdentity } from '../../src/uzp/identity/identity.js';
import { toHex } from '../../src/uzp/bytes.js';
import { spawnCli, stopProcess } from '../helpers/processes.js';
import { startTwoSlotGateway, type TwoSlotGateway } from '../helpers/two-slot-gateway.js';

let g: TwoSlotGateway;

beforeAll(async () => {
  g = await startTwoSlotGateway();
  const r = await g.issue('serial.grant', '--slot', 'tty-1', '--purpose', 'serial.read', '--purpose', 'serial.write', '--hours', '8');
  expect(r.code, r.err).toBe(0);
}, 60_000);

afterAll(async () => {
  await g?.close();
});

describe('the operator Grant, told back (pure)', () => {
  const grant: GrantBody = {
    scopes: [
      { slot: 'tty-1', purposes: [{ purpose: 'serial.read' }, { purpose: 'serial.write' }] },
      { slot: 'net-1', purposes: [{ purpose: 'mqtt.subscribe', topics: ['plant/press-2/telemetry/#'] }] },
    ],
    nonce: 1,
    earlyData: false,
    noReplay: false,
  };

  it('a slot the Grant lacks, and a mode its purposes do not open', () => {
    expect(grantDoesNotCover(grant, 'rs485-1', 'tail')).toBe('your Grant covers tty-1, net-1; you asked for rs485-1');
    expect(grantDoesNotCover(grant, 'tty-1', 'modbus')).toBe('your Grant gives tty-1: serial.read, serial.write, which opens tail, serial; modbus-tcp needs modbus.read or modbus.write');
    expect(grantDoesNotCover(grant, 'net-1', 'tail')).toBeUndefined();
    expect(grantDoesNotCover(grant, 'tty-1', 'serial')).toBeUndefined();
  });

  it('gateway codes with what the Grant covers', () => {
    expect(explainRefusal('TOPIC_OUT_OF_FILTER', grant, 'net-1')).toBe('outside the topic filters of your Grant for net-1: mqtt.subscribe:topics=plant/press-2/telemetry/#');
    expect(explainRefusal('TOPIC_NOT_BRIDGED', grant, 'net-1')).toMatch(/the gateway does not bridge that topic on net-1/);
    expect(explainRefusal('TOPIC_NOT_BRIDGED', grant, 'net-1', ['plant/press-2/telemetry/#'])).toBe('topic not bridged on net-1; bridged: plant/press-2/telemetry/#');
    expect(explainRefusal('SLOT_NOT_GRANTED', grant, 'rs485-1')).toBe('your Grant covers tty-1, net-1; you asked for rs485-1');
    expect(explainRefusal('SOMETHING_NEW', grant, 'tty-1')).toBe('refused by the gateway (SOMETHING_NEW)');
  });
});

describe('uzpgw connect against real RN and gateway processes', () => {
  async function connect(grant: string, ...rest: string[]) {
    return g.cli('connect', ...g.connectArgs(grant), ...rest);
  }

  it('a slot the Grant does not cover is refused before any network, naming the slots it does', async () => {
    const r = await connect('serial.grant', '--slot', 'tty-2', 'tail', '--count', '1');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/your Grant covers tty-1; you asked for tty-2 \(.*serial\.grant\) \[CONFIG_INVALID\]/);
  });

  it('a mode the Grant gives no purpose for is refused, listing what it does open', async () => {
    const r = await connect('serial.grant', '--slot', 'tty-1', 'modbus-tcp', '--listen', '127.0.0.1:0');
    expect(r.err).toMatch(/your Grant gives tty-1: serial\.read, serial\.write, which opens tail, serial; modbus-tcp needs modbus\.read or modbus\.write/);
  });

  it('a key that does not match its PCert, and a Grant for another gateway, are found locally', async () => {
    writeKeyFile(g.at('stranger.key'), generateIdentity(p));
    const args = g.connectArgs('serial.grant').map((a) => (a === g.at('op.key') ? g.at('stranger.key') : a));
    const key = await g.cli('connect', ...args, '--slot', 'tty-1', 'tail', '--count', '1');
    expect(key.err).toMatch(/stranger\.key is not the key .*op\.pcert was issued for \(key CID [0-9a-f]{16}…, PCert for [0-9a-f]{16}…\); use the matching pair/);
    const other = toHex(generateIdentity(p).cid);
    const wrongGw = await g.cli('connect', ...g.connectArgs('serial.grant').map((a) => (a === toHex(g.gw.cid) ? other : a)), '--slot', 'tty-1', 'tail');
    expect(wrongGw.err).toMatch(/serial\.grant is a Grant for gateway [0-9a-f]{16}…, not for [0-9a-f]{16}… \(--gateway\); use that gateway's Grant/);
  });

  it('--listen that is not loopback, or already taken, is refused before connecting', async () => {
    const open = await connect('serial.grant', '--slot', 'tty-1', 'modbus-tcp', '--listen', '0.0.0.0:1502');
    expect([open.code, open.err]).toEqual([2, expect.stringMatching(/loopback only \(use 127\.0\.0\.1 or ::1\)/)]);
    const busy: Server = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    try {
      const port = (busy.address() as { port: number }).port;
      const taken = await connect('serial.grant', '--slot', 'tty-1', 'modbus-tcp', '--listen', `127.0.0.1:${port}`);
      expect([taken.code, taken.err]).toEqual([2, expect.stringMatching(new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE`))]);
    } finally {
      busy.close();
    }
  });

  it('the connected line says until when the Grant is valid and how long is left (ISO 8601)', async () => {
    /** The stderr status line matching `re`, once it is there. */
    const statusLine = (c: ReturnType<typeof spawnCli>, re: RegExp): Promise<string> =>
      new Promise((resolve, reject) => {
        const look = (): void => {
          const hit = c.stderr().split('\n').find((l) => re.test(l));
          if (hit !== undefined) resolve(hit);
        };
        c.proc.stderr!.on('data', look);
        void c.exited.then(() => reject(new Error(`connect exited: ${c.stderr()}`)));
        look();
      });
    const json = spawnCli(['connect', ...g.connectArgs('serial.grant'), '--slot', 'tty-1', 'serial', '--json']);
    const line = JSON.parse(await statusLine(json, /"event":"connected"/)) as { grant_expires_at: string };
    expect(line.grant_expires_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/);
    await stopProcess(json);
    const human = spawnCli(['connect', ...g.connectArgs('serial.grant'), '--slot', 'tty-1', 'serial']);
    expect(await statusLine(human, /^connected:/)).toMatch(/^connected: slot tty-1, device echo-tty-1 \(serial-raw\), purposes serial\.read, serial\.write; Grant valid until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(7 hours left\)$/);
    await stopProcess(human);
  }, 30_000);

  it("a refusal by the gateway is explained with the Grant held: a device pin the slot doesn't match", async () => {
    // Issued without --config, so pantheon cannot catch it: the gateway refuses, the CLI explains.
    const r = await g.cli('pantheon', 'grant', '--dir', g.at('domain'), '--subject', toHex(g.op.cid), '--audience', toHex(g.gw.cid), '--slot', 'tty-2@plc-9', '--purpose', 'serial.read', '--out', g.at('pinned.grant'));
    expect(r.code, r.err).toBe(0);
    const c = await connect('pinned.grant', '--slot', 'tty-2', 'tail', '--count', '1');
    expect(c.code).toBe(1);
    expect(c.err).toMatch(/open: your Grant pins tty-2 to device plc-9; the slot now holds another device \(the gateway said DEVICE_NOT_GRANTED\) \[HIL_REFUSED\]/);
  }, 30_000);

  // Last: it takes the RN away.
  it('when the only RN is lost the operator says so, rides through for --max-wait, then exits 3, never silently', async () => {
    // tail: runs until the session ends (serial would end with its stdin, here /dev/null).
    const c = spawnCli(['connect', ...g.connectArgs('serial.grant'), '--slot', 'tty-1', '--max-wait', '2', 'tail']);
    await new Promise<void>((resolve) => c.proc.stderr!.on('data', () => /connected:/.test(c.stderr()) && resolve()));
    await stopProcess(g.rn, 'SIGKILL');
    const { code } = await c.exited;
    expect(code, c.stderr()).toBe(3);
    expect(c.stderr()).toMatch(/RN lost \(.+\); re-stitching at another RN/);
    expect(c.stderr()).toMatch(/session ended: no re-stitch within the continuity window of 2000 ms \[LINK_CLOSED\]/);
  }, 30_000);
});
