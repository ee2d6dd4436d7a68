/**
 * Polls `cond` every `stepMs` until it holds; throws after `timeoutMs`, a bound for a test that
 * fails, not a claim on how fast anything is.
 */
export async function until(cond: () => boolean, timeoutMs = 20_000, stepMs = 10): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
