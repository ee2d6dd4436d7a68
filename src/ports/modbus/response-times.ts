// Response times of one Modbus unit in constant memory: min, max and mean exact, the 99th
// percentile from a fixed log-scale histogram. A gateway polls for months; keeping every sample (or
// a sliding window of them) would grow with the poll rate, and a p99 needs the tail, so the samples
// go into buckets 5% wide from 0.1 ms to 60 s (273 of them, plus one below and one above): the
// reported p99 lies in the same bucket as the exact one, so it is within 5% of it in that range
// (below 0.1 ms within 0.1 ms; above 60 s it reads as the max).
// Counts are since the bus started (a lifetime figure, like the other counters in stats.ts).

/** A JSON-friendly summary (null while nothing was measured), ms rounded to 0.01. */
export interface ResponseTimeSummary {
  /** Samples recorded (answered requests). */
  readonly n: number;
  readonly min: number | null;
  readonly avg: number | null;
  /** Nearest-rank 99th percentile, from the histogram (see the top of the file). */
  readonly p99: number | null;
  readonly max: number | null;
}

const LOW_MS = 0.1;
const HIGH_MS = 60_000;
/** Each bucket's upper bound is 5% above its lower bound. */
const RATIO = 1.05;
const LOG_RATIO = Math.log(RATIO);
/** Buckets between LOW_MS and HIGH_MS. */
const SPAN = Math.ceil(Math.log(HIGH_MS / LOW_MS) / LOG_RATIO);
/** Index 0: below LOW_MS; 1..SPAN: the log buckets; SPAN + 1: HIGH_MS and above. */
const BUCKETS = SPAN + 2;

export const EMPTY_RESPONSE_TIMES: ResponseTimeSummary = { n: 0, min: null, avg: null, p99: null, max: null };

function bucketOf(ms: number): number {
  if (ms < LOW_MS) return 0;
  const i = Math.floor(Math.log(ms / LOW_MS) / LOG_RATIO);
  return Math.min(i, SPAN) + 1;
}

/** A value inside bucket `b` below the top one: the geometric middle of a log bucket, half of LOW_MS for the bottom one. */
function middleOf(b: number): number {
  if (b === 0) return LOW_MS / 2;
  return LOW_MS * RATIO ** (b - 1 + 0.5);
}

const round = (ms: number): number => Math.round(ms * 100) / 100;

export class ResponseTimes {
  /** Float64: exact integer counts up to 2^53, where 32 bits would wrap after ~500 days at 100/s. */
  private readonly counts = new Float64Array(BUCKETS);
  private n = 0;
  private sum = 0;
  private min = Infinity;
  private max = -Infinity;

  /** Records one round trip; a negative or non-finite value (a clock bug) is ignored. */
  record(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    this.counts[bucketOf(ms)]!++;
    this.n++;
    this.sum += ms;
    if (ms < this.min) this.min = ms;
    if (ms > this.max) this.max = ms;
  }

  /** Adds `other`'s samples to this one (a slot's figure over all its units). */
  merge(other: ResponseTimes): this {
    for (let i = 0; i < BUCKETS; i++) this.counts[i]! += other.counts[i]!;
    this.n += other.n;
    this.sum += other.sum;
    this.min = Math.min(this.min, other.min);
    this.max = Math.max(this.max, other.max);
    return this;
  }

  /** The nearest-rank 99th percentile estimate, kept inside [min, max] (which only moves it closer to the exact one). */
  p99(): number | null {
    if (this.n === 0) return null;
    const rank = Math.ceil(0.99 * this.n);
    let seen = 0;
    for (let b = 0; b < BUCKETS; b++) {
      seen += this.counts[b]!;
      // The top bucket is open-ended: its samples reach up to max, which is what it reports.
      if (seen >= rank) return b === BUCKETS - 1 ? this.max : Math.min(this.max, Math.max(this.min, middleOf(b)));
    }
    return this.max; // unreachable: the counts add up to n
  }

  summary(): ResponseTimeSummary {
    if (this.n === 0) return EMPTY_RESPONSE_TIMES;
    return { n: this.n, min: round(this.min), avg: round(this.sum / this.n), p99: round(this.p99()!), max: round(this.max) };
  }
}
