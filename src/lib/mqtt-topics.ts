// MQTT topic names and filters (MQTT 3.1.1 §4.7 / MQTT 5 §4.7): matching a topic against a filter,
// and *containment* of one filter in another — the HIL needs the latter to decide whether an
// operator's subscription stays inside the filters its Grant names (draft §4.3: the HIL must never
// generalise authority), which plain matching cannot answer.

/** A valid topic name for publishing: non-empty, no wildcards, no NUL, <= 65535 bytes. */
export function isTopicName(t: string): boolean {
  return t.length > 0 && Buffer.byteLength(t) <= 65535 && !/[+#\u0000]/.test(t);
}

/** A valid filter: '#' only as the whole last level, '+' only as a whole level (§4.7.1). */
export function isTopicFilter(f: string): boolean {
  if (f.length === 0 || Buffer.byteLength(f) > 65535 || f.includes('\u0000')) return false;
  const levels = f.split('/');
  return levels.every((l, i) => (l.includes('#') ? l === '#' && i === levels.length - 1 : !l.includes('+') || l === '+'));
}

/** Does `topic` match `filter`? Topics starting with '$' never match a leading wildcard (§4.7.2). */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  if (topic.startsWith('$') && (f[0] === '+' || f[0] === '#')) return false;
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

/**
 * Is every topic matched by `inner` also matched by `outer`? Level by level: a '#' in outer covers
 * the rest; a '+' in outer covers any single level of inner except '#'; a literal in outer covers only
 * the same literal. `$`-topics: an outer leading wildcard does not cover them, so an inner filter
 * starting with '$' needs a literal first level in outer.
 */
export function filterWithin(inner: string, outer: string): boolean {
  const a = inner.split('/');
  const b = outer.split('/');
  if (a[0]!.startsWith('$') && (b[0] === '+' || b[0] === '#')) return false;
  for (let i = 0; i < b.length; i++) {
    if (b[i] === '#') return true;
    if (i >= a.length) return false;
    if (a[i] === '#') return false;
    if (b[i] === '+') continue;
    if (a[i] === '+' || a[i] !== b[i]) return false;
  }
  return a.length === b.length;
}
