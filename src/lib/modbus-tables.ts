// The four primary Modbus data tables (Modbus Application Protocol V1.1b3 §4.3), by the names the
// config, the Grant codec (a purpose's "tb") and the HIL authority share. One list, here at the
// bottom, because the Grant codec (uzp) may not import the Modbus vocabulary (ports); that
// vocabulary re-exports it as TABLES.

/** In the order the config lists them. */
export const MODBUS_TABLES = ['holding', 'input', 'coils', 'discrete'] as const;
export type ModbusTable = (typeof MODBUS_TABLES)[number];

export function isModbusTable(s: string): s is ModbusTable {
  return (MODBUS_TABLES as readonly string[]).includes(s);
}
