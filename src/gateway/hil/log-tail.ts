// tail from the reading log (issue #12: "Live tail reads the same log and accepts from_seq (with
// epoch), so an operator resumes without a gap"). The channel walks one slot's readings in the
// log's order from a position — the operator's (from_epoch, from_seq), else the next reading — and
// then waits for the next append. It waits for the session's buffer instead of dropping: a slow
// operator falls behind in the log (bounded by the log's byte bound), never in memory. Every
// reading is held against the Grant before it is sent, history included (its register range or
// topic is kept in the log for that).

import type { Reading, Unsubscribe } from '../../hil/device.js';
import type { HilMessage, ReadingKind } from '../../hil/messages.js';
import { decodeCanonical } from '../../uzp/cbor.js';
import type { LoggedReading, LogPosition } from '../reading-log/reading-log.js';
import type { ChannelContext, OpenChannel } from './modes.js';
import { readingAction } from './reading-action.js';
import { SlotAuthority } from './authority.js';

/** Readings read from the log per step; the channel's buffer paces the rest. */
const STEP = 256;

/** What a log tail reads (gateway/reading-log/recorder.ts). */
export interface ReadingSource {
  read(slot: string, from: LogPosition, limit: number): LoggedReading[];
  position(slot: string): LogPosition;
  onAppend(cb: (slot: string) => void): Unsubscribe;
}

/** Sends one message, waiting for buffer room; false when the channel or session is gone. */
export type SendWait = (m: HilMessage, signal: AbortSignal) => Promise<'sent' | 'too-large' | 'gone'>;

export function serveLogTail(ctx: ChannelContext, slot: string, source: ReadingSource, sendWait: SendWait, from?: LogPosition): OpenChannel {
  const abort = new AbortController();
  let wake: (() => void) | undefined;
  const off = source.onAppend((s) => {
    if (s === slot) wake?.();
  });
  abort.signal.addEventListener('abort', () => wake?.(), { once: true });
  // A history row may come from another device the slot held at an earlier boot: it is held against
  // the Grant's scope for *that* device (draft §4.3; PROFILE §HIL authority: a scope naming a device
  // covers that device only), not the one the channel was opened on.
  let other: SlotAuthority | undefined;
  const authorityOf = (device: string): SlotAuthority =>
    device === ctx.authority.binding.device ? ctx.authority : other?.binding.device === device ? other : (other = new SlotAuthority(ctx.authority.grant, { slot, device }));
  const run = async (): Promise<void> => {
    let pos = from ?? source.position(slot);
    while (!abort.signal.aborted) {
      const rows = source.read(slot, pos, STEP);
      if (rows.length === 0) {
        // No await between the empty read and arming the wake: an append cannot slip in between.
        await new Promise<void>((r) => (wake = r));
        wake = undefined;
        continue;
      }
      for (const row of rows) {
        pos = { epoch: row.epoch, seq: row.seq + 1 };
        const r = toReading(row);
        if (r === undefined || !authorityOf(r.device).check(readingAction(r)).allowed) continue;
        const m: HilMessage = { t: 'reading', slot: r.slot, device: r.device, kind: r.kind, seq: r.seq, ts: r.ts, value: r.value, epoch: row.epoch };
        const sent = await sendWait(m, abort.signal);
        if (sent === 'gone') return;
        // A reading over the session's message bound (a serial-raw chunk, an MQTT payload over 1
        // MiB) is counted as dropped, as on the live path; the tail goes on (it stopped here for good).
        if (sent === 'too-large') ctx.dropped();
      }
    }
  };
  run().catch(() => undefined); // sendWait never throws; a torn-down channel just ends the walk
  return {
    cleanup: () => {
      off();
      abort.abort();
    },
    onMessage: (m) => {
      if (ctx.audit({ action: `tail.${m.t}`, decision: 'refused', code: 'UNEXPECTED_MESSAGE', reason: `${m.t} is not part of tail mode` })) ctx.send({ t: 'refused', code: 'UNEXPECTED_MESSAGE' });
    },
  };
}

const KINDS: readonly string[] = ['modbus', 'serial', 'mqtt'];

/** A logged row back into a Reading; undefined for a row this code cannot read (skipped, never fatal). */
function toReading(row: LoggedReading): Reading | undefined {
  if (!KINDS.includes(row.kind)) return undefined;
  try {
    const value = decodeCanonical(row.value, 16, { floats: true });
    const source = row.source === undefined ? undefined : (JSON.parse(row.source) as Reading['source']);
    return { slot: row.slot, device: row.device, kind: row.kind as ReadingKind, seq: row.seq, ts: row.ts, value, ...(source !== undefined ? { source } : {}) };
  } catch {
    return undefined;
  }
}
