// How much of a serial line a Modbus RTU poll plan needs: reads per second x frame time. The
// ports layer merges contiguous reads of one unit and table (up to the protocol limits), so the
// estimate merges them the same way; a result above 1 means the polls cannot all keep their
// interval on this line.

import { MAX_READ_BITS, MAX_READ_REGISTERS } from '../ports/modbus/vocabulary.js';
import { spanOf, type DeviceConfig, type SerialParams } from './types.js';

/** Bits on the wire per character: start + data + parity + stop (Modbus over serial line v1.02 §2.5.1). */
export function bitsPerChar(s: SerialParams): number {
  return 1 + s.dataBits + (s.parity === 'none' ? 0 : 1) + s.stopBits;
}

/** Fraction of the line's time the device's polls need (0 for non-Modbus devices). */
export function estimateLineLoad(d: DeviceConfig, s: SerialParams): number {
  if (d.driver !== 'modbus-poller') return 0;
  let charsPerSecond = 0;
  for (const u of d.units) {
    const groups = new Map<string, { start: number; end: number }[]>();
    for (const r of u.registers) {
      const k = `${r.table}/${r.pollIntervalMs}`;
      const list = groups.get(k) ?? [];
      list.push({ start: r.address, end: r.address + spanOf(r) - 1 });
      groups.set(k, list);
    }
    for (const [k, ranges] of groups) {
      const [table, ms] = k.split('/') as [string, string];
      const bits = table === 'coils' || table === 'discrete';
      const limit = bits ? MAX_READ_BITS : MAX_READ_REGISTERS;
      ranges.sort((a, b) => a.start - b.start);
      const reads: { start: number; end: number }[] = [];
      for (const r of ranges) {
        const last = reads[reads.length - 1];
        if (last !== undefined && r.start <= last.end + 1 && Math.max(last.end, r.end) - last.start + 1 <= limit) last.end = Math.max(last.end, r.end);
        else reads.push({ ...r });
      }
      for (const r of reads) {
        const n = r.end - r.start + 1;
        // Request: addr, fc, start(2), count(2), crc(2) = 8; response: addr, fc, byte count, data, crc(2).
        const response = 5 + (bits ? Math.ceil(n / 8) : 2 * n);
        // Each frame is followed by at least 3.5 character times of silence (§2.5.1.1): 2 frames, 7 chars.
        charsPerSecond += ((8 + response + 7) * 1000) / Number(ms);
      }
    }
  }
  return (charsPerSecond * bitsPerChar(s)) / s.baudRate;
}
