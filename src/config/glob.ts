// Board `device_glob` patterns (boards/*.json): `*` is any run of characters and `?` one character,
// neither crossing '/'. Matched without a RegExp: translated to `[^/]*` per star, a pattern with
// many stars backtracked exponentially against a path it did not match (10 stars against a
// 40-character name: over a minute in `uzpgw slots check` and at every gateway start).

/** True when all of `path` matches `glob`; at worst pattern length × path length steps. */
export function globMatches(glob: string, path: string): boolean {
  // No wildcard crosses '/', so the two match segment by segment.
  const g = glob.split('/');
  const p = path.split('/');
  return g.length === p.length && g.every((seg, i) => segmentMatches(seg, p[i]!));
}

/**
 * The classic wildcard match: on a mismatch, go back to the last star and let it take one more
 * character. Earlier stars never need another try (the later star can take whatever they would
 * have), so the work is at most pattern length × segment length, however many stars there are.
 */
function segmentMatches(g: string, s: string): boolean {
  let gi = 0;
  let si = 0;
  let star = -1;
  let taken = 0;
  while (si < s.length) {
    if (g[gi] === '*') {
      star = gi++;
      taken = si;
    } else if (gi < g.length && (g[gi] === '?' || g[gi] === s[si])) {
      gi++;
      si++;
    } else if (star >= 0) {
      gi = star + 1;
      si = ++taken;
    } else {
      return false;
    }
  }
  while (g[gi] === '*') gi++;
  return gi === g.length;
}
