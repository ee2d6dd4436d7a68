import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './lib/harness.mjs';
import { READ_10, directMaster, startSimHost } from './lib/hil.mjs';
const dir = tempDir('stress-'); const vdir = join(dir, 'v'); mkdirSync(vdir);
const sim = await startSimHost();
const baud = Number(process.argv[2] ?? 115200);
const { paths } = await sim.rpc('modbusBus', { dir: vdir, names: ['a'], baud, ...(baud === 19200 ? { framing: '8E1' } : {}), slaves: [{ unit: 1, holding: 20 }, { unit: 7, holding: 20 }] });
const m = await directMaster(paths[0], baud, { timeoutMs: 300, ...(baud === 19200 ? { parity: 'even' } : {}) });
let ok = 0, bad = 0; const t0 = performance.now();
for (let i = 0; i < Number(process.argv[3] ?? 3000); i++) {
  try { await m.bus.request(i % 2 ? 7 : 1, READ_10); ok++; } catch (e) { bad++; console.log('ERR', i, e.message); }
}
console.log('ok', ok, 'bad', bad, ((performance.now() - t0) / (ok + bad)).toFixed(2), 'ms/tx');
const st = await sim.rpc('stats').catch(() => null);
await m.close(); process.exit(0);
