// Who goes next on a bus where operator requests and background polls both wait: the side that has
// had less of the bus's time in this contest, so each gets at least half of the time while the other
// wants more (docs/DEVICES.md "Operator requests").
//
// Why time and not turns: a turn can be a 1-register read (~20 ms at 9600 baud), a 125-register
// read (~0.3 s) or a timeout (the unit's timeout_ms). The rule before counted turns, 4 operator
// requests to 1 poll, and an operator keeping 64 requests in flight took the readings of a slot
// from 9.4 to 1.6 per second with 1-register reads and to 0.6 with 125-register ones (review of
// 3deca72; with this rule 4.3 and 3.4). Why half: the readings are the gateway's own job (the
// reading log, the publishers) and must keep flowing while an operator works: a poll waits for the
// operator exchange on the wire, then polls go until they have had as much of the bus as the
// operators; and an operator still gets an answer after at most the exchange on the wire and as
// much poll time as its own requests took beyond the polls' (one exchange at most: see `lead`).
//
// An operator alone on the bus, or polls alone, are never held back: a lead counts only while the
// other side waits to make it up, and is forgotten as soon as that side has nothing waiting.

export class BusShare {
  /**
   * Operator bus time minus poll bus time (ms) in the current contest; > 0: operators are ahead and
   * polls go next. Bounded by one exchange either way: the side behind goes as soon as it is behind.
   */
  private lead = 0;

  /** Whether the next exchange is an operator request (false: a poll; nothing waiting: false). */
  operatorNext(operatorsWaiting: boolean, pollsWaiting: boolean): boolean {
    if (!pollsWaiting) this.lead = Math.min(this.lead, 0);
    if (!operatorsWaiting) this.lead = Math.max(this.lead, 0);
    // A tie goes to the operator: an interactive request is answered before the poll plan.
    return operatorsWaiting && (!pollsWaiting || this.lead <= 0);
  }

  /** An exchange took `ms` of the bus; `contested`: the other side was waiting at its start or end. */
  ran(operator: boolean, ms: number, contested: boolean): void {
    if (contested) this.lead += operator ? ms : -ms;
  }
}
