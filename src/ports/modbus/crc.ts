// CRC-16/MODBUS (Modbus over Serial Line V1.02 §6.2.2): reflected polynomial 0xA001, initial
// value 0xFFFF, no final XOR; the RTU frame carries it low byte first. Table-driven (one lookup
// per byte) because the master checks every received byte run, noise included, while resyncing.

const TABLE = (() => {
  const t = new Uint16Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xa001 : c >>> 1;
    t[n] = c;
  }
  return t;
})();

export function crc16modbus(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let crc = 0xffff;
  for (let i = start; i < end; i++) crc = (crc >>> 8) ^ TABLE[(crc ^ bytes[i]!) & 0xff]!;
  return crc;
}
