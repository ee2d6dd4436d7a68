// The purposes a Grant may carry for a HIL slot (docs/PROFILE.md §HIL, Authority), and which of
// them take which parameters. The gateway's authority enforces them; `pantheon grant` refuses
// anything else at issue time, so a typo never becomes a Grant.

export const PURPOSES = ['serial.read', 'serial.write', 'modbus.read', 'modbus.write', 'mqtt.subscribe', 'mqtt.publish'] as const;
export type HilPurpose = (typeof PURPOSES)[number];

export function isHilPurpose(s: string): s is HilPurpose {
  return (PURPOSES as readonly string[]).includes(s);
}

/** Modbus purposes take units, tables and register ranges; MQTT purposes take topic filters. */
export function purposeFamily(p: HilPurpose): 'serial' | 'modbus' | 'mqtt' {
  return p.startsWith('modbus.') ? 'modbus' : p.startsWith('mqtt.') ? 'mqtt' : 'serial';
}
