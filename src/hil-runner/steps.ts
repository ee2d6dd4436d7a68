// How each scenario step is carried out against a running set-up (run.ts builds the `RunContext`):
// expectations watch the readings an operator tails or act as an operator under a Grant; faults act
// on the virtual equipment, the broker or the RN. Every step ends in a StepResult that says what
// was seen, in words a user can act on; an expectation that did not hold is `ok: false`, a step
// that could not be carried out at all is `error`.

import { performance } from 'node:perf_hooks';
import type { GatewayConfig } from '../config/index.js';
import { isCodedError } from '../lib/errors.js';
import type { Session } from '../uzp/session/session.js';
import type { RunningSlot } from './equipment.js';
import { judge } from './expectations.js';
import { applyFault, setValue } from './faults.js';
import { pause } from './pause.js';
import type { ReadingStore } from './reading-store.js';
import type { Step } from './scenario.js';

export interface RunContext {
  readonly config: GatewayConfig;
  readonly equipment: ReadonlyMap<string, RunningSlot>;
  /** The full-authority operator session (reconnected when it ended). */
  session(): Promise<Session>;
  /** A session under a Grant with only `purposes` on `slot`, for refusal checks; closed by the caller. */
  restrictedSession(slot: string, purposes: readonly string[]): Promise<{ readonly session: Session; close(): void }>;
  /** The readings seen since the run started. */
  readonly store: ReadingStore;
  /** Asks for the operator session (and its tails) to be up again, if it ended. */
  keepUp(): void;
  /** Why the run's own tail of `slot` is not up, when its last attempt failed (said with an expectation that saw too little). */
  whyNotTailed(slot: string): string | undefined;
  /** When aborted, waits end at once: a wait step returns, an expectation is judged on what it has (the demo's deadline). */
  readonly stopWaiting?: AbortSignal;
  restartBroker(): Promise<void>;
  killRn(): Promise<void>;
}

export interface StepResult {
  readonly index: number;
  readonly kind: Step['kind'];
  /** e.g. `readings rs485-1`, `fault unplug tty-1`. */
  readonly title: string;
  readonly name?: string;
  readonly line?: number;
  readonly ok: boolean;
  /** True when the step could not be carried out (not merely an expectation that did not hold). */
  readonly error?: boolean;
  readonly ms: number;
  readonly message: string;
}

/** A step the run did not get to (it was interrupted), as the reports list it. */
export function skippedStep(s: Step): { index: number; title: string; name?: string; line?: number } {
  return { index: s.index, title: stepTitle(s), ...(s.name !== undefined ? { name: s.name } : {}), ...(s.line !== undefined ? { line: s.line } : {}) };
}

function stepTitle(s: Step): string {
  if (s.kind === 'wait') return `wait ${s.ms} ms`;
  if (s.kind === 'set') return `set ${s.v.slot} unit ${s.v.unit} ${s.v.register}`;
  if (s.kind === 'fault') return `fault ${s.f.fault}${'slot' in s.f ? ` ${s.f.slot}` : ''}${'unit' in s.f ? ` unit ${s.f.unit}` : ''}`;
  const e = s.e;
  return e.expect === 'action' ? `action ${e.action.do} ${e.slot}` : `${e.expect} ${e.slot}`;
}

export async function runStep(s: Step, ctx: RunContext): Promise<StepResult> {
  const t0 = performance.now();
  const base = { index: s.index, kind: s.kind, title: stepTitle(s), ...(s.name !== undefined ? { name: s.name } : {}), ...(s.line !== undefined ? { line: s.line } : {}) };
  try {
    let r: { ok: boolean; message: string };
    if (s.kind === 'wait') {
      await pause(s.ms, ctx.stopWaiting);
      r = { ok: true, message: ctx.stopWaiting?.aborted === true ? `waited ${Math.round(performance.now() - t0)} ms (stopped early)` : `waited ${s.ms} ms` };
    } else if (s.kind === 'fault') r = { ok: true, message: await applyFault(s.f, ctx, s.index) };
    else if (s.kind === 'set') r = { ok: true, message: setValue(s.v, ctx) };
    else r = await judge(s.e, ctx);
    return { ...base, ...r, ms: Math.round(performance.now() - t0) };
  } catch (e) {
    const what = isCodedError(e) ? `${e.message} [${e.code}]` : String((e as Error)?.message ?? e);
    return { ...base, ok: false, error: true, message: `could not be carried out: ${what}`, ms: Math.round(performance.now() - t0) };
  }
}
