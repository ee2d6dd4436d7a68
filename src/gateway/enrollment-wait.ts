// `uzpgw gateway --wait-enrollment`: on a freshly flashed board the PCert and the trust files do
// not exist until the domain admin has enrolled the gateway. Waiting (one log line, a cheap stat
// poll) instead of failing keeps the unit out of a restart loop that would fill the journal, and
// the gateway comes up by itself the moment the files are copied in.

import { sleep, systemClock } from '../lib/clock.js';
import { statSync } from 'node:fs';
import type { GatewayConfig } from '../config/types.js';

/** Files the domain admin provides; the identity key is not one (first-boot creates it). */
function missingEnrollmentFiles(c: GatewayConfig): string[] {
  return [c.identity.pcert, c.trust.anchor, c.trust.rnSet].filter((f) => {
    try {
      return !statSync(f).isFile();
    } catch {
      return true;
    }
  });
}

interface WaitOptions {
  readonly intervalMs: number;
  /** Aborted by SIGTERM/SIGINT: stop waiting. */
  readonly signal: AbortSignal;
  /** Called with the missing paths at the start and whenever that set changes. */
  readonly onWaiting: (missing: readonly string[]) => void;
}

/** Resolves true once every enrollment file exists, false when stopped first. */
export async function waitForEnrollment(c: GatewayConfig, o: WaitOptions): Promise<boolean> {
  let missing = missingEnrollmentFiles(c);
  if (missing.length === 0) return true;
  o.onWaiting(missing);
  while (!o.signal.aborted) {
    await sleep(systemClock, o.intervalMs, o.signal);
    if (o.signal.aborted) break;
    const now = missingEnrollmentFiles(c);
    if (now.length === 0) return true;
    if (now.join('\n') !== missing.join('\n')) o.onWaiting(now);
    missing = now;
  }
  return false;
}
