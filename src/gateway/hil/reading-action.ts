// The action a reading exposes, for the Grant check before delivery (draft §4.3: a reading leaves
// the gateway only under a purpose that covers it: its register range, its topic, its slot's read).

import type { Reading } from '../../hil/device.js';
import type { HilAction } from './authority.js';

/** The Grant action that must allow `r` before an operator sees it. */
export function readingAction(r: Reading): HilAction {
  if (r.source?.kind === 'modbus') {
    const s = r.source;
    return { purpose: 'modbus.read', unit: s.unit, access: { access: 'read', table: s.table, addr: s.addr, count: s.count } };
  }
  if (r.source?.kind === 'mqtt') return { purpose: 'mqtt.subscribe', filter: r.source.topic };
  return { purpose: r.kind === 'modbus' ? 'modbus.read' : r.kind === 'mqtt' ? 'mqtt.subscribe' : 'serial.read' } as HilAction;
}

