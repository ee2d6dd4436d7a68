// What the demo's children say that a person watching should see, as view events. Each child
// already prints structured lines; this only picks and words them:
//   RN, gateway   pino JSON records on stdout: warnings and errors; the gateway's audit lines
//                 (the demo sends them to stdout) when the decision is not `allowed` — refusals
//   operator      `connect --json` status lines on stderr (connected, refused) and the CLI's one
//                 error line when it gives up, text with or without --json: `uzpgw <command as
//                 run>: <message> [CODE]` (cli/dispatch.ts); for the demo's operators
//                 `uzpgw connect tail: …`

import type { DemoEvent } from './view-model.js';

/** pino's numeric levels. */
const WARN = 40;
const ERROR = 50;

/** Operator error codes that mean "not allowed" rather than "broken". */
const REFUSAL_CODES = new Set(['HIL_REFUSED', 'JOIN_REFUSED']);

/** An RN or gateway stdout record as an event, or undefined when it is routine. */
export function logEvent(who: string, v: Record<string, unknown>): DemoEvent | undefined {
  if (v.audit === true) {
    if (v.decision === 'allowed') return undefined;
    const where = typeof v.slot === 'string' ? ` on ${v.slot}` : '';
    const why = [v.code, v.reason].filter((x) => typeof x === 'string').join(': ');
    return { kind: v.decision === 'refused' ? 'refused' : 'error', text: `${who} ${v.decision === 'refused' ? 'refused' : 'failed'} ${String(v.msg ?? v.action)}${where}${why ? ` (${why})` : ''}` };
  }
  const level = typeof v.level === 'number' ? v.level : 0;
  if (level < WARN) return undefined;
  const detail = [v.code, v.reason ?? v.error ?? v.detail].filter((x) => typeof x === 'string').join(': ');
  const text = `${who}: ${String(v.msg ?? v.event ?? 'log record')}${typeof v.event === 'string' ? ` [${v.event}]` : ''}${detail ? ` (${detail})` : ''}`;
  const refused = typeof v.event === 'string' && v.event.includes('refused');
  return { kind: refused ? 'refused' : level >= ERROR ? 'error' : 'warn', text };
}

/** An operator's stderr line as an event, or undefined when it is routine or not understood. */
export function operatorEvent(slot: string, line: string): DemoEvent | undefined {
  const who = `operator ${slot}`;
  if (line.startsWith('{')) {
    let v: Record<string, unknown>;
    try {
      v = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return undefined;
    }
    if (v.event === 'connected') {
      const purposes = Array.isArray(v.purposes) ? v.purposes.join(', ') : '';
      return { kind: 'info', text: `${who} connected: device ${String(v.device)} (${String(v.driver)}), purposes ${purposes}` };
    }
    if (v.event === 'refused') return { kind: 'refused', text: `${who}: ${String(v.reason)} (${String(v.code)})` };
    return undefined;
  }
  // The command words are lowercase and hyphens (`connect tail`), so the first ": " ends them.
  const m = /^uzpgw [a-z -]+: (.*?)(?: \[([A-Z0-9_]+)\])?$/.exec(line);
  if (m === null) return undefined;
  const [, message, code] = m;
  return { kind: code !== undefined && REFUSAL_CODES.has(code) ? 'refused' : 'error', text: `${who}: ${message}${code !== undefined ? ` [${code}]` : ''}` };
}
