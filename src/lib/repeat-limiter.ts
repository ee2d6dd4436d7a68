// Bounds how many log lines a remote peer can cause, whatever it sends. A refusal of what a peer
// offered (a session OFFER, an artefact) was one warning each: a hostile RN sending 2,000 junk
// OFFERs/s wrote 15 MB of log in 30 s at 19% CPU, and an operator with one valid Grant joining in a
// loop through an honest RN ~3,100 lines/s. Here, per source (an RN) the first refusal of each code,
// and the first of each (code, who) up to MAX_WHO, is said in full; the rest are counted, and each
// interval a source with any ends in one summary: how many, by code, with a few of the `who`s.
// What is remembered is forgotten after a whole interval without it, so an incident that comes back
// later is said in full again. Memory is bounded: at most maxSources sources (the rest are counted
// together under OVERFLOW_SOURCE), MAX_CODES codes and MAX_WHO (code, who) pairs per source.
// So per interval and source: at most MAX_CODES + MAX_WHO full lines and one summary.

import type { Clock } from './clock.js';

/** Where the refusals of sources beyond maxSources are counted. */
export const OVERFLOW_SOURCE = '(other sources)';
/** Distinct codes per source said in full (error codes are a small fixed set; this is a backstop). */
export const MAX_CODES = 32;
/** Distinct (code, who) pairs per source said in full beyond each code's first. */
export const MAX_WHO = 8;
/** Sources remembered at once, by default. */
export const MAX_SOURCES = 64;
/** `who`s of suppressed refusals a summary names. */
export const MAX_EXAMPLES = 4;
/** Where counts of codes beyond MAX_CODES go in a summary. */
export const OTHER_CODES = 'OTHER';

export interface RepeatSummary {
  readonly source: string;
  /** Refusals not said in full since the last summary. */
  readonly suppressed: number;
  /** Of those, how many per code. */
  readonly codes: Readonly<Record<string, number>>;
  /** A few distinct `who`s among them (at most MAX_EXAMPLES). */
  readonly examples: readonly string[];
}

export interface RepeatLimiterOptions {
  readonly clock: Clock;
  /** How often a source with suppressed refusals gets its summary. */
  readonly intervalMs: number;
  readonly onSummary: (s: RepeatSummary) => void;
  readonly maxSources?: number;
}

interface SourceState {
  /** Codes said in full, and whether each came again since the last tick. */
  readonly codes: Map<string, boolean>;
  /** (code, who) pairs said in full or being counted, and whether each came again since the last tick. */
  readonly whos: Map<string, boolean>;
  suppressed: number;
  readonly byCode: Map<string, number>;
  readonly examples: Set<string>;
}

export class RepeatLimiter {
  private readonly sources = new Map<string, SourceState>();
  private readonly maxSources: number;
  private cancelTick: (() => void) | undefined;
  private stopped = false;

  constructor(private readonly o: RepeatLimiterOptions) {
    this.maxSources = o.maxSources ?? MAX_SOURCES;
  }

  /** Sources remembered now (for tests: bounded by maxSources + 1). */
  get size(): number {
    return this.sources.size;
  }

  /**
   * One refusal from `source` with `code`, about `who` (an initiator, an artefact kind). True: say
   * it in full now. False: it is counted for the source's next summary (say it at debug, if at all).
   * After stop(): always false, and nothing is kept or scheduled (there is no next summary).
   */
  admit(source: string, code: string, who = ''): boolean {
    // A refusal can still arrive as the owner stops (an offer already read off the link). It armed
    // a new interval timer (unref: it kept no process alive), so a process that lived on got a
    // summary from the stopped part a minute later, and its first of each code was said in full.
    if (this.stopped) return false;
    let src = source;
    let w = who;
    if (!this.sources.has(src) && this.sources.size >= this.maxSources + (this.sources.has(OVERFLOW_SOURCE) ? 1 : 0)) {
      // The overflow's `who` is the source, so its summary names some of the sources counted there.
      src = OVERFLOW_SOURCE;
      w = source;
    }
    let s = this.sources.get(src);
    if (s === undefined) {
      s = { codes: new Map(), whos: new Map(), suppressed: 0, byCode: new Map(), examples: new Set() };
      this.sources.set(src, s);
    }
    this.arm();
    const pair = `${code}\u0000${w}`;
    const newCode = !s.codes.has(code) && s.codes.size < MAX_CODES;
    const knownPair = s.whos.has(pair);
    if (knownPair) s.whos.set(pair, true);
    if (s.codes.has(code)) s.codes.set(code, true);
    if (newCode || (!knownPair && s.whos.size < MAX_WHO)) {
      if (newCode) s.codes.set(code, true);
      if (!knownPair && s.whos.size < MAX_WHO) s.whos.set(pair, true);
      return true;
    }
    s.suppressed++;
    const counted = s.byCode.has(code) || s.byCode.size < MAX_CODES ? code : OTHER_CODES;
    s.byCode.set(counted, (s.byCode.get(counted) ?? 0) + 1);
    if (s.examples.size < MAX_EXAMPLES) s.examples.add(w);
    return false;
  }

  /** Says every pending summary now and forgets everything (the gateway stopping); for good. */
  stop(): void {
    this.stopped = true;
    this.cancelTick?.();
    this.cancelTick = undefined;
    this.summarise();
    this.sources.clear();
  }

  private arm(): void {
    if (this.cancelTick !== undefined) return;
    // unref: a summary still due must not keep a stopping process alive (stop() says it anyway).
    this.cancelTick = this.o.clock.setTimeout(() => this.tick(), this.o.intervalMs, { unref: true });
  }

  private tick(): void {
    this.cancelTick = undefined;
    this.summarise();
    for (const [name, s] of this.sources) {
      forgetQuiet(s.codes);
      forgetQuiet(s.whos);
      if (s.codes.size === 0 && s.whos.size === 0) this.sources.delete(name);
    }
    if (this.sources.size > 0) this.arm();
  }

  private summarise(): void {
    for (const [source, s] of this.sources) {
      if (s.suppressed === 0) continue;
      const summary: RepeatSummary = { source, suppressed: s.suppressed, codes: Object.fromEntries(s.byCode), examples: [...s.examples] };
      s.suppressed = 0;
      s.byCode.clear();
      s.examples.clear();
      this.o.onSummary(summary);
    }
  }
}

/** Drops the entries that did not come again since the last tick; marks the rest for the next one. */
function forgetQuiet(m: Map<string, boolean>): void {
  for (const [k, again] of m) {
    if (again) m.set(k, false);
    else m.delete(k);
  }
}
