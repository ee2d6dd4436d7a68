// "Did you mean …?" for enum values, keys and ids: a typo in a field name or value should come
// back with the intended spelling, not only with the list of everything allowed.

/** Optimal string alignment distance (Damerau-Levenshtein with adjacent transpositions). */
function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  // Bounded inputs only: the callers pass keys and enum values, but be safe with junk.
  if (a.length > 64 || b.length > 64) return Math.max(a.length, b.length);
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[] = new Array<number>(rows * cols).fill(0);
  const at = (i: number, j: number): number => d[i * cols + j]!;
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, at(i - 2, j - 2) + 1);
      d[i * cols + j] = v;
    }
  }
  return at(a.length, b.length);
}

/**
 * The candidates closest to `input`: same spelling ignoring case and separators, a prefix
 * ("hold" -> "holding"), or a small edit distance (about one edit per three characters).
 * Best first, at most `max`.
 */
export function suggest(input: string, candidates: readonly string[], max = 2): string[] {
  const norm = (s: string): string => s.toLowerCase().replace(/[-_ .]/g, '');
  const x = norm(input);
  if (x.length === 0) return [];
  const scored: { c: string; score: number }[] = [];
  for (const c of new Set(candidates)) {
    const y = norm(c);
    let score: number;
    if (x === y) score = 0;
    else if (x.length >= 2 && (y.startsWith(x) || x.startsWith(y))) score = 1;
    else {
      const dist = editDistance(x, y);
      if (dist > Math.max(1, Math.floor(Math.max(x.length, y.length) / 3))) continue;
      score = 1 + dist;
    }
    scored.push({ c, score });
  }
  scored.sort((p, q) => p.score - q.score || p.c.localeCompare(q.c));
  return scored.slice(0, max).map((s) => s.c);
}

/** "did you mean holding?" / "did you mean 9600 or 19200?" or '' when nothing is close. */
export function didYouMean(input: string, candidates: readonly string[], max = 2): string {
  const s = suggest(input, candidates, max);
  return s.length === 0 ? '' : `did you mean ${s.join(' or ')}?`;
}
