// One UZP association's state (draft §4.2), observable. All moves go through transition().

import { EventEmitter } from 'node:events';
import { transition, type Revalidation, type SessionState } from './state.js';

/** Transitions kept for inspection (the most recent). */
const HISTORY_MAX = 64;

export class Association extends EventEmitter {
  private current: SessionState = 'new';
  readonly history: SessionState[] = ['new'];

  get state(): SessionState {
    return this.current;
  }

  to(next: SessionState, proof?: Revalidation): void {
    const from = this.current;
    this.current = transition(from, next, proof);
    this.history.push(next);
    // Bounded: a long-lived session fails over and back many times.
    if (this.history.length > HISTORY_MAX) this.history.splice(0, this.history.length - HISTORY_MAX);
    this.emit('state', from, next);
  }

  /** Close from any state; closing twice is a no-op rather than an illegal move. */
  close(): void {
    if (this.current !== 'closed') this.to('closed');
  }
}
