// Issue #12 "nothing lost" on the MQTT path, with real processes: a publisher sends numbered QoS 1
// messages at a steady rate to a mosquitto with persistence; a real `uzpgw gateway` (durability
// batch, one mqtt-bridge slot on a persistent session) logs them. The gateway is SIGKILLed twice
// mid-stream and restarted, and mosquitto is restarted once mid-stream. Afterwards the gateway's
// reading log (opened read-only, values decoded from canonical CBOR) holds every number the
// broker acknowledged to the publisher, each reading once per (epoch, seq), and every boot
// epoch's seqs run from 0 without a gap (a SIGKILL loses only the uncommitted tail, whose
// messages were never acknowledged, so the broker sent them again to the next gateway). And a
// graceful stop (SIGTERM) commits what it logged before its MQTT connection closes, so the broker
// got its acknowledgement and sends nothing again to the next run.

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { connect, connectAsync } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeKeyFile } from '../../src/files/keyfile.js';
import { Mosquitto } from '../../src/sim/mosquitto.js';
import { toHex } from '../../src/uzp/bytes.js';
import { decodeCanonical } from '../../src/uzp/cbor.js';
import { nodeProvider as p } from '../../src/uzp/crypto/node.js';
import { generateIdentity } from '../../src/uzp/identity/identity.js';
import { signalProcess, spawnCli, stopAll, stopProcess, waitForJsonLine, type Child } from '../helpers/processes.js';

const CLIENT_ID = 'uzpgw-no-loss-net-1';
const TOPIC = 'plant/line/n';
/** One message every GAP_MS: 200 messages/s, so a batch commit (early at 16 settles) is always in progress. */
const GAP_MS = 5;
const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const dir = mkdtempSync(join(tmpdir(), 'uzp-mqtt-no-loss-'));
const at = (f: string): string => join(dir, f);
let broker: Mosquitto | undefined;
afterAll(async () => {
  await stopAll();
  await broker?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function cli(...argv: string[]): Promise<void> {
  const c = spawnCli(argv);
  const { code } = await c.exited;
  if (code !== 0) throw new Error(`uzpgw ${argv[0]} ${argv[1] ?? ''} failed (exit ${code}): ${c.stderr()}`);
}

/** Numbered QoS 1 publishes at a steady rate; `acked` counts those the broker acknowledged (0..acked-1). */
function startPublisher(url: string): { stop(): Promise<number> } {
  const c = connect(url, { clientId: 'no-loss-publisher', clean: false, reconnectPeriod: 100 });
  let running = true;
  let acked = 0;
  const loop = (async () => {
    const t0 = performance.now();
    while (running) {
      // mqtt.js keeps a publish the broker has not acknowledged and sends it again after a reconnect.
      await c.publishAsync(TOPIC, String(acked), { qos: 1 });
      acked++;
      const wait = t0 + acked * GAP_MS - performance.now();
      if (wait > 0) await pause(wait);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      await c.endAsync();
      return acked;
    },
  };
}

interface Row {
  readonly epoch: number;
  readonly seq: number;
  readonly n: number;
}

/** The slot's readings, from a read-only connection (the gateway may still be writing: WAL). */
function logged(file: string): Row[] {
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    const rows = db.prepare("SELECT epoch, seq, value FROM readings WHERE slot = 'net-1' ORDER BY id").all() as { epoch: number; seq: number; value: Uint8Array }[];
    return rows.map((r) => {
      const v = decodeCanonical(new Uint8Array(r.value), 16, { floats: true }) as { topic: string; payload: string };
      expect(v.topic).toBe(TOPIC);
      return { epoch: Number(r.epoch), seq: Number(r.seq), n: Number(v.payload) };
    });
  } finally {
    db.close();
  }
}

async function startGateway(config = 'gateway.json'): Promise<Child> {
  const gw = spawnCli(['gateway', '--config', at(config), '--log-level', 'info']);
  await waitForJsonLine(gw, (v) => v.event === 'reading_log.opened');
  return gw;
}

describe('MQTT: nothing the broker acknowledged to the publisher is lost by the gateway', () => {
  beforeAll(async () => {
    await cli('pantheon', 'init', '--dir', at('domain'), '--domain', 'mqtt-no-loss.test');
    const rn = generateIdentity(p);
    const gw = generateIdentity(p);
    writeKeyFile(at('rn.key'), rn);
    writeKeyFile(at('gw.key'), gw);
    await cli('pantheon', 'enroll', '--dir', at('domain'), '--public', toHex(gw.publicKey), '--role', 'gateway', '--out', at('gw.pcert'));
    const rnChild = spawnCli(['rn', '--listen', '127.0.0.1:0', '--trust', at('domain/trust.json'), '--key', at('rn.key'), '--log-level', 'warn']);
    const rnAddress = (await waitForJsonLine<{ address: string }>(rnChild, (v) => v.event === 'listening')).address;
    await cli('pantheon', 'rn-set', '--dir', at('domain'), '--rn', `${toHex(rn.publicKey)}@${rnAddress}`, '--out', at('rn-set.uzp'));

    mkdirSync(at('mosquitto'));
    broker = await Mosquitto.start({ persistence: { dir: at('mosquitto') } });
    // The gateway's persistent session exists before the first message, as a plant's broker has it
    // from the gateway's earlier runs: nothing is published before anyone subscribed.
    const first = await connectAsync(broker.url, { clientId: CLIENT_ID, clean: false, reconnectPeriod: 0 });
    await first.subscribeAsync('plant/line/#', { qos: 1 });
    await first.endAsync();
    writeFileSync(
      at('gateway.json'),
      JSON.stringify({
        kind: 'uzp-gw/gateway-config',
        identity: { key: 'gw.key', pcert: 'gw.pcert' },
        trust: { anchor: 'domain/trust.json', rn_set: 'rn-set.uzp' },
        reading_log: { file: 'readings.db', durability: 'batch' },
        board: 'virtual',
        virtual_dir: 'pty',
        slots: { 'net-1': { device: { id: 'line-1', driver: 'mqtt-bridge', broker: broker.url, client_id: CLIENT_ID, subscribe: ['plant/line/#'], qos: 1 } } },
      }),
    );
  }, 60_000);

  it('2 gateway SIGKILLs and a mosquitto restart under a steady QoS 1 stream: every number logged, each reading once per (epoch, seq)', async () => {
    let gateway = await startGateway();
    const pub = startPublisher(broker!.url);
    for (let kill = 0; kill < 2; kill++) {
      await pause(1500);
      signalProcess(gateway, 'SIGKILL');
      await gateway.exited;
      gateway = await startGateway();
    }
    await pause(1500);
    await broker!.restart();
    await pause(1500);
    const sent = await pub.stop();

    const file = at('readings.db');
    const deadline = performance.now() + 60_000;
    while (new Set(logged(file).map((r) => r.n)).size < sent && performance.now() < deadline) await pause(100);
    await stopProcess(gateway, 'SIGTERM');
    const rows = logged(file);

    const numbers = new Set(rows.map((r) => r.n));
    const missing = Array.from({ length: sent }, (_, i) => i).filter((i) => !numbers.has(i));
    expect(missing).toEqual([]);
    expect([...numbers].every((n) => n >= 0 && n < sent)).toBe(true);
    expect(new Set(rows.map((r) => `${r.epoch}/${r.seq}`)).size).toBe(rows.length);
    const epochs = [...new Set(rows.map((r) => r.epoch))].sort((a, b) => a - b);
    expect(epochs.length).toBe(3);
    for (const e of epochs) {
      const seqs = rows.filter((r) => r.epoch === e).map((r) => r.seq).sort((a, b) => a - b);
      expect(seqs, `epoch ${e}: seqs from 0 without a gap`).toEqual(seqs.map((_, i) => i));
    }
    console.log(JSON.stringify({ sent, readings: rows.length, distinct: numbers.size, redelivered_duplicates: rows.length - numbers.size, per_epoch: epochs.map((e) => rows.filter((r) => r.epoch === e).length) }));
  }, 120_000);

  it('a graceful stop acknowledges what it logged: nothing comes back twice after a restart', async () => {
    // Its own config and log; a long batch window keeps the five messages pending (fewer than the
    // 16 that commit early) until the stop commits them.
    // Its own persistent session too, made (and subscribed) before anything is published.
    const clientId = 'uzpgw-graceful-net-1';
    const first = await connectAsync(broker!.url, { clientId, clean: false, reconnectPeriod: 0 });
    await first.subscribeAsync('plant/line/#', { qos: 1 });
    await first.endAsync();
    const config = JSON.parse(readFileSync(at('gateway.json'), 'utf8')) as { reading_log: Record<string, unknown>; slots: { 'net-1': { device: Record<string, unknown> } } };
    const slots = { 'net-1': { device: { ...config.slots['net-1'].device, client_id: clientId } } };
    writeFileSync(at('graceful.json'), JSON.stringify({ ...config, slots, reading_log: { ...config.reading_log, file: 'graceful.db', batch_ms: 10_000 } }));
    const file = at('graceful.db');
    let gateway = await startGateway('graceful.json');
    await pause(500); // subscribed
    const c = await connectAsync(broker!.url, { clientId: 'graceful-publisher', reconnectPeriod: 0 });
    for (let i = 0; i < 5; i++) await c.publishAsync(TOPIC, String(100_000 + i), { qos: 1 });
    await c.endAsync();
    await pause(500); // delivered to the bridge, pending in the log
    expect(logged(file)).toEqual([]);
    await stopProcess(gateway, 'SIGTERM');
    expect(logged(file).filter((r) => r.n >= 100_000).map((r) => r.n)).toEqual([100_000, 100_001, 100_002, 100_003, 100_004]);
    // A broker that got no PUBACK sends the messages again to the persistent session's next run.
    gateway = await startGateway('graceful.json');
    await pause(1500);
    await stopProcess(gateway, 'SIGTERM');
    expect(logged(file).filter((r) => r.n >= 100_000).map((r) => r.n)).toEqual([100_000, 100_001, 100_002, 100_003, 100_004]);
  }, 60_000);
});
