// equipment as `uzpgw hil` makes it (systemClock sims, in this process); master in a child? no: here too.
import { VirtualLine } from '../dist/sim/virtual-line.js';
import { ModbusRtuBus } from '../dist/sim/modbus-rtu-bus.js';
import { fork } from 'node:child_process';
const baud = Number(process.argv[2] ?? 19200);
if (process.argv[4] === 'child') {
  const { directMaster, READ_10 } = await import('./lib/hil.mjs');
  const m = await directMaster(process.argv[5], baud, { timeoutMs: 300, ...(baud === 19200 ? { parity: 'even' } : {}) });
  let ok = 0, bad = 0;
  for (let i = 0; i < Number(process.argv[3]); i++) { try { await m.bus.request(i % 2 ? 7 : 1, READ_10); ok++; } catch (e) { bad++; console.log('ERR', i, e.message); } }
  console.log('ok', ok, 'bad', bad); await m.close(); process.exit(0);
}
const line = await VirtualLine.open({ baud, framing: baud === 19200 ? '8E1' : '8N1' });
const bus = new ModbusRtuBus(line.device, { baud, framing: baud === 19200 ? '8E1' : '8N1', slaves: [{ unit: 1, holding: 20 }, { unit: 7, holding: 20 }] });
const events = {}; bus.onEvent((e) => { if (e.type !== 'reply') events[e.type + (e.reason ? ':' + e.reason : '')] = (events[e.type + (e.reason ? ':' + e.reason : '')] ?? 0) + 1; });
const c = fork(new URL(import.meta.url).pathname, [String(baud), process.argv[3] ?? '1500', 'child', line.path], { stdio: 'inherit' });
await new Promise((r) => c.on('exit', r));
console.log('sim events', JSON.stringify(events), JSON.stringify(bus.stats));
bus.close(); await line.close(); process.exit(0);
