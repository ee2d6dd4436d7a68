// `uzpgw connect … diag`: the slot's per-slave diagnostics (issue #13), fetched over the HIL under a
// Grant with diag.read and printed as `uzpgw status` prints them on the gateway: one line per unit
// (state, requests, timeouts, CRC errors, exceptions by code, response times), a summary line, the
// line-level counters. Once, or every --watch seconds until --count reports or a signal. The report's
// words (port state, unit names, error codes) are the gateway's: the decoder checks their length
// only, so they reach the terminal through printable() / jsonLine() (src/lib/terminal-text.ts).

import { setTimeout as sleep } from 'node:timers/promises';
import type { DiagCounters, DiagReport } from '../hil/diag-report.js';
import { EMPTY_RESPONSE_TIMES } from '../ports/modbus/response-times.js';
import type { SlotChannel } from '../operator/slot-channel.js';
import { jsonLine, printable } from '../lib/terminal-text.js';
import type { CommandIo } from './command.js';
import { diagnosticsText } from './status-modbus.js';

function text(c: DiagCounters): string {
  return diagnosticsText({
    state: c.state,
    requests: c.requests,
    timeouts: c.timeouts,
    crcErrors: c.crc_errors,
    exceptionsByCode: Object.fromEntries(c.by_code),
    responseMs: c.rt ?? EMPTY_RESPONSE_TIMES,
  });
}

/** The report as lines of text, indented as under a slot of `uzpgw status`. */
export function diagText(slot: string, device: string, r: DiagReport): string {
  const lines = [`slot ${slot}, device ${device}: port ${r.port}`];
  if (r.units.length > 1) lines.push(`  all units: ${text(r.all)}`);
  for (const u of r.units) {
    const label = `unit ${u.unit}${u.name !== undefined ? ` (${u.name})` : ''}${u.polled ? '' : ' [not polled]'}`;
    const extra = [u.wrong_unit > 0 ? `${u.wrong_unit} wrong-unit replies` : '', u.offline > 0 ? `${u.offline} refused while offline` : '', u.last_error !== undefined && u.state !== 'ok' ? `last error ${u.last_error}` : ''].filter((s) => s !== '');
    lines.push(`  ${label}: ${text(u)}${extra.length > 0 ? `; ${extra.join(', ')}` : ''}`);
  }
  lines.push(`  line: ${r.line.stray_frames} stray frames, ${r.line.stray_noise} runs of stray noise${r.line.desyncs > 0 ? `, ${r.line.desyncs} desyncs` : ''}`);
  return lines.map(printable).join('\n') + '\n';
}

/**
 * Prints `count` reports, `everyMs` apart; resolves 0 when done or once `stop` aborts (a refusal or
 * a lost session rejects). The wait between reports ends with `stop`: on a plain timer, `--watch S`
 * kept the process alive up to S seconds after SIGINT or a closed stdout.
 */
export async function serveDiag(slot: Pick<SlotChannel, 'opened' | 'diag'>, io: CommandIo, json: boolean, everyMs: number, count: number, stop: AbortSignal): Promise<number> {
  const o = slot.opened!;
  for (let n = 0; n < count && !stop.aborted; n++) {
    if (n > 0) {
      try {
        await sleep(everyMs, undefined, { signal: stop });
      } catch (e) {
        if (stop.aborted) return 0;
        throw e;
      }
    }
    const r = await slot.diag();
    if (stop.aborted) return 0;
    io.stdout.write(json ? jsonLine({ event: 'diag', slot: o.slot, device: o.device, at: new Date().toISOString(), ...r }) : diagText(o.slot, o.device, r));
  }
  return 0;
}
