// The baseline's edge side (durable-delivery bench): what a user would run instead of our gateway
// — a Node script reading lines from a serial port and publishing each with mqtt.js at QoS 1.
//   node mqtt-line-publisher.mjs TTY BROKER_URL TOPIC
// Prints {"event":"ready"} once connected and the port is open.

import { connectAsync } from 'mqtt';
import { SerialPort } from 'serialport';
import { ReadlineParser } from '@serialport/parser-readline';

const [tty, url, topic] = process.argv.slice(2);
const client = await connectAsync(url, { clientId: 'bench-line-publisher', clean: true, reconnectPeriod: 500 });
const port = new SerialPort({ path: tty, baudRate: 115200 });
await new Promise((resolve, reject) => port.once('open', resolve).once('error', reject));
const lines = port.pipe(new ReadlineParser({ delimiter: '\n' }));
let seq = 0;
lines.on('data', (line) => {
  // The same facts a gateway reading carries: device sequence and timestamp with the value.
  void client.publishAsync(topic, JSON.stringify({ seq: seq++, ts: Date.now(), line }), { qos: 1 }).catch((e) => process.stderr.write(`publish failed: ${e}\n`));
});
process.stdout.write(JSON.stringify({ event: 'ready' }) + '\n');
process.on('SIGTERM', () => {
  port.close();
  void client.endAsync().then(() => process.exit(0));
});
