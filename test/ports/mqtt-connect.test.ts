// openMqttClient (src/ports/mqtt-connect.ts): mqtt.js's client over the one transport the URL names.
//   * a plain mqtt:// link to a real mosquitto, in a fresh node process, loads neither the `ws`
//     package nor node:http / https / tls / zlib (what mqtt.js's connect() loaded for every URL);
//   * the URL's user:password reach the broker in CONNECT (a loopback broker of our own that
//     decodes the packet with mqtt-packet, so the bytes are checked, not our options object);
//   * mqtts:// checks the broker's certificate: refused without its CA, connected with it;
//   * a gateway config's `ca_file` reaches the TLS check (config -> equipment -> MqttLink);
//   * an MQTT 5 PUBACK with a failure reason code becomes MqttRefusedError with that code;
//   * a SOCKS5 proxy named in the options is used (a loopback proxy of our own, real mosquitto);
//   * an unknown scheme throws at once.

import { execFile } from 'node:child_process';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import mqttPacket from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { buildSlotPorts } from '../../src/gateway/equipment.js';
import { openMqttClient } from '../../src/ports/mqtt-connect.js';
import { MqttLink } from '../../src/ports/mqtt.js';
import { PortErrorCode } from '../../src/ports/errors.js';
import { silentPortLog } from '../../src/ports/log.js';
import { Mosquitto } from '../../src/sim/mosquitto.js';
import { socks5Proxy } from '../helpers/broker-fronts.js';
import { errorOf } from '../helpers/errors.js';
import { selfSigned as selfSignedCert, type SelfSigned } from '../helpers/self-signed.js';
import { check, edit } from '../config/fixtures.js';

const run = promisify(execFile);
const DIST_CONNECT = fileURLToPath(new URL('../../dist/ports/mqtt-connect.js', import.meta.url));

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

type Packet = mqttPacket.Packet;

/** A loopback broker of our own: hands each decoded packet to `onPacket` with a writer. */
async function fakeBroker(onPacket: (p: Packet, send: (p: Packet) => void) => void, server: Server = createServer()): Promise<{ port: number; packets: Packet[] }> {
  const packets: Packet[] = [];
  const sockets: Socket[] = [];
  server.on('connection', (s: Socket) => wire(s));
  server.on('secureConnection', (s: Socket) => wire(s));
  function wire(s: Socket): void {
    sockets.push(s);
    const parser = mqttPacket.parser({ protocolVersion: 5 });
    const send = (p: Packet): void => void s.write(mqttPacket.generate(p, { protocolVersion: (packets[0] as mqttPacket.IConnectPacket | undefined)?.protocolVersion ?? 4 }));
    parser.on('packet', (p: Packet) => {
      packets.push(p);
      onPacket(p, send);
    });
    s.on('data', (d) => parser.parse(d));
    s.on('error', () => {});
  }
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => {
    for (const s of sockets) s.destroy();
    return new Promise((r) => server.close(r));
  });
  return { port: (server.address() as AddressInfo).port, packets };
}

const connack = (p: Packet, send: (p: Packet) => void): void => {
  if (p.cmd === 'connect') send({ cmd: 'connack', returnCode: 0, reasonCode: 0, sessionPresent: false });
};

async function selfSigned(): Promise<SelfSigned> {
  const c = await selfSignedCert();
  cleanups.push(() => c.remove());
  return c;
}

function whenConnected(c: ReturnType<typeof openMqttClient>): Promise<void> {
  return new Promise((resolve, reject) => {
    c.once('connect', () => resolve());
    c.once('error', reject);
  });
}

describe('openMqttClient', () => {
  it('a plain mqtt:// link loads no WebSocket, HTTP, TLS or zlib code (fresh process, real mosquitto)', async () => {
    const b = await Mosquitto.start();
    cleanups.push(() => b.stop());
    const script = `
      import { openMqttClient } from ${JSON.stringify(DIST_CONNECT)};
      import { createRequire } from 'node:module';
      const c = openMqttClient(${JSON.stringify(b.url)}, { reconnectPeriod: 0 });
      c.on('connect', () => {
        const req = createRequire(${JSON.stringify(DIST_CONNECT)});
        const ws = Object.keys(req.cache).filter((k) => k.includes('/node_modules/ws/'));
        const builtins = process.moduleLoadList.filter((m) => /^NativeModule (http|https|tls|zlib|dns)$/.test(m));
        console.log(JSON.stringify({ connected: true, ws, builtins }));
        c.end(true);
      });
      c.on('error', (e) => { console.log(JSON.stringify({ error: String(e) })); process.exit(1); });
    `;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { timeout: 20_000 });
    expect(JSON.parse(stdout.trim())).toEqual({ connected: true, ws: [], builtins: [] });
  });

  it('goes through a SOCKS5 proxy when one is named (socksProxy, as MQTTJS_SOCKS_PROXY for mqtt.js): real mosquitto behind a loopback proxy', async () => {
    const b = await Mosquitto.start();
    cleanups.push(() => b.stop());
    const proxy = await socks5Proxy();
    cleanups.push(() => proxy.close());
    const c = openMqttClient(b.url, { reconnectPeriod: 0, socksProxy: `socks5://127.0.0.1:${proxy.port}` });
    cleanups.push(() => c.end(true));
    await new Promise<void>((resolve, reject) => {
      c.once('connect', () => resolve());
      c.once('error', reject);
    });
    const port = Number(new URL(b.url).port);
    expect(proxy.targets).toEqual([`127.0.0.1:${port}`]); // before: a direct connection, the proxy unused
  });

  it('sends the URL’s user and password in CONNECT unless the options name them', async () => {
    const { port, packets } = await fakeBroker(connack);
    const c = openMqttClient(`mqtt://op%40plant:s3cr%3At@127.0.0.1:${port}`, { reconnectPeriod: 0, protocolVersion: 4 });
    cleanups.push(() => c.end(true));
    await whenConnected(c);
    const conn = packets[0] as mqttPacket.IConnectPacket;
    expect([conn.cmd, conn.username, Buffer.from(conn.password ?? '').toString()]).toEqual(['connect', 'op@plant', 's3cr:t']);

    const c2 = openMqttClient(`mqtt://url-user:url-pass@127.0.0.1:${port}`, { reconnectPeriod: 0, username: 'opt-user', password: 'opt-pass' });
    cleanups.push(() => c2.end(true));
    await whenConnected(c2);
    const conn2 = packets.filter((p) => p.cmd === 'connect')[1] as mqttPacket.IConnectPacket;
    expect([conn2.username, Buffer.from(conn2.password ?? '').toString()]).toEqual(['opt-user', 'opt-pass']);
  });

  it('mqtts:// refuses a broker whose certificate it cannot check, and connects with its CA', async () => {
    const { key, cert } = await selfSigned();
    const { port, packets } = await fakeBroker(connack, createTlsServer({ key, cert }));

    const refused = openMqttClient(`mqtts://localhost:${port}`, { reconnectPeriod: 0 });
    cleanups.push(() => refused.end(true));
    const err = await whenConnected(refused).then(() => undefined, (e: unknown) => e as Error & { code?: string });
    expect(err?.code).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');
    expect(packets).toEqual([]);

    const ok = openMqttClient(`mqtts://localhost:${port}`, { reconnectPeriod: 0, ca: cert });
    cleanups.push(() => ok.end(true));
    await whenConnected(ok);
    expect(packets.map((p) => p.cmd)).toContain('connect');
  });

  it('a gateway config’s ca_file is what the broker’s certificate is checked against', async () => {
    const { key, cert, certFile } = await selfSigned();
    const { port, packets } = await fakeBroker(connack, createTlsServer({ key, cert }));
    const r = check(edit((c) => Object.assign(c.slots['net-1'].device, { broker: `mqtts://localhost:${port}`, ca_file: certFile })));
    expect(r.issues.filter((i) => i.severity === 'error')).toEqual([]);
    const slot = r.config!.slots.find((x) => x.id === 'net-1')!;
    const link = buildSlotPorts(slot, silentPortLog).mqtt!;
    cleanups.push(() => link.close());
    link.start();
    await link.whenOpen();
    expect(packets.map((p) => p.cmd)).toContain('connect');
  });

  it('an MQTT 5 PUBACK with a failure reason code rejects the publish with MqttRefusedError and that code', async () => {
    const { port } = await fakeBroker((p, send) => {
      connack(p, send);
      if (p.cmd === 'publish' && p.messageId !== undefined) send({ cmd: 'puback', messageId: p.messageId, reasonCode: 0x87 });
    });
    const l = new MqttLink({ url: `mqtt://127.0.0.1:${port}`, protocolVersion: 5, backoff: { baseMs: 50, capMs: 300 } }).start();
    cleanups.push(() => l.close());
    await l.whenOpen();
    const e = (await errorOf(l.publish('plant/cmd', 'x', { qos: 1 }))) as Error & { code: string; reasonCode?: number };
    expect([e.code, e.reasonCode]).toEqual([PortErrorCode.MQTT_REFUSED, 0x87]);
  });

  it('throws at once on a scheme it does not know, and on a persistent session without a client id (as mqtt.js)', () => {
    expect(() => openMqttClient('http://127.0.0.1:1883', {})).toThrow(/unknown protocol "http"/);
    expect(() => openMqttClient('not a url', {})).toThrow(/not a URL/);
    expect(() => openMqttClient('mqtt://127.0.0.1:1883', { clean: false })).toThrow(/Missing clientId/);
  });
});
