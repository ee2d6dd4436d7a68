// Register values that change over time, so polls show live readings: a register may be a constant
// or a function of the bus clock, evaluated when it is read (no timers, so a fake clock drives it).

/** A holding or input register: a constant or a function of time (ms on the bus clock). */
export type RegisterSource = number | ((nowMs: number) => number);
/** A coil or discrete input: a constant or a function of time. */
export type BitSource = boolean | ((nowMs: number) => boolean);

/**
 * A register as a 16-bit word: rounded, and negative values in two's complement (how a device
 * stores a signed INT16 such as -5.0 °C x10 = 0xFFCE).
 */
export function toWord(v: number): number {
  return Math.round(v) & 0xffff;
}

/** A value drifting as a sine around `base` (e.g. a temperature x10 that moves over a minute). */
export function drift(opts: { base: number; amplitude: number; periodMs: number; phase?: number }): (nowMs: number) => number {
  const { base, amplitude, periodMs, phase = 0 } = opts;
  return (now) => base + amplitude * Math.sin((2 * Math.PI * now) / periodMs + phase);
}

/** A counter that goes up by one every `periodMs` (wraps at 16 bits when read). */
export function counter(opts: { periodMs: number; start?: number; startMs?: number }): (nowMs: number) => number {
  const { periodMs, start = 0, startMs = 0 } = opts;
  return (now) => start + Math.floor(Math.max(0, now - startMs) / periodMs);
}
