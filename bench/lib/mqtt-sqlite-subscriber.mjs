// The baseline's storing side (durable-delivery bench): an mqtt.js subscriber (QoS 1, persistent
// session) writing every message as a row into the same kind of database our collector uses — the
// collector's own SqliteStore (node:sqlite, WAL, synchronous=FULL, unique (gateway, slot, epoch,
// seq)), committed in batches every 200 ms like our gateway's batch mode, so the two differ only
// in the path, not in how they store.
//   node mqtt-sqlite-subscriber.mjs BROKER_URL TOPIC DB_FILE
import { connectAsync } from 'mqtt';
import { SqliteStore } from '../../dist/collector/store/sqlite.js';
import { encodeCanonical } from '../../dist/uzp/cbor.js';

const [url, topic, file] = process.argv.slice(2);
const store = SqliteStore.open(file);
const gateway = new Uint8Array(32).fill(0xb5);
let pending = [];
let flushing = false;
const flush = async () => {
  if (flushing || pending.length === 0) return;
  flushing = true;
  const batch = pending;
  pending = [];
  await store.insert(batch);
  flushing = false;
};
setInterval(() => void flush(), 200);
const client = await connectAsync(url, { clientId: 'bench-sqlite-subscriber', clean: false, reconnectPeriod: 500 });
client.on('message', (_t, payload) => {
  const m = JSON.parse(payload.toString('utf8'));
  pending.push({ gateway, slot: 'tty-1', device: 'sensor', kind: 'serial', epoch: 1, seq: m.seq, ts: m.ts, value: encodeCanonical({ line: m.line }) });
});
await client.subscribeAsync(topic, { qos: 1 });
process.stdout.write(JSON.stringify({ event: 'ready' }) + '\n');
process.on('SIGTERM', async () => {
  await flush();
  await client.endAsync();
  await store.close();
  process.exit(0);
});
