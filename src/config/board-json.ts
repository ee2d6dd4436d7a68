// A validated board back in its file format (snake_case keys, defaults written out), for
// `uzpgw boards show --json` and for tests that mutate a board and validate it again.

import type { Board, BoardPort, Rs485Control } from './types.js';
import { BOARD_KIND } from './board-schema.js';

type J = Record<string, unknown>;

function rs485(r: Rs485Control): J {
  if (r.direction !== 'rts') return { direction: r.direction };
  return { direction: 'rts', rts_active_low: r.rtsActiveLow, delay_before_send_ms: r.delayBeforeSendMs, delay_after_send_ms: r.delayAfterSendMs };
}

function port(p: BoardPort): J {
  const o: J = { id: p.id, kind: p.kind };
  if (p.kind === 'net') {
    if (p.iface !== undefined) o.interface = p.iface;
  } else {
    if (p.device !== undefined) o.device = p.device;
    if (p.aliases.length > 0) o.aliases = [...p.aliases];
    if (p.deviceGlob.length > 0) o.device_glob = [...p.deviceGlob];
    Object.assign(o, { bauds: [...p.bauds], data_bits: [...p.dataBits], parities: [...p.parities], stop_bits: [...p.stopBits], rs485: rs485(p.rs485) });
  }
  if (p.pins.length > 0) o.pins = [...p.pins];
  o.docs = p.docs;
  if (p.notes !== undefined) o.notes = p.notes;
  return o;
}

export function boardToJson(b: Board): J {
  return {
    kind: BOARD_KIND,
    id: b.id,
    name: b.name,
    summary: b.summary,
    oemid: b.oemid,
    hwmodel: b.hwmodel,
    hwversion: b.hwversion,
    arch: [...b.arch],
    docs: b.docs,
    ports: b.ports.map(port),
    slots: b.slots.map((s) => ({ id: s.id, port: s.port, kinds: [...s.kinds], ...(s.label !== undefined ? { label: s.label } : {}) })),
  };
}
