// One ephemeral key pair made ahead of its use, off the latency-critical path (issue #14).
// Every attachment and handshake makes a fresh X25519 key (and the hybrid suite an ML-KEM-768 key):
// HELLO, HELLO_R, CH1, SH. Made at the moment of use, each costs 0.05 ms warm and 0.1-0.25 ms in a
// process that has just woken up, between a frame's arrival and the answer leaving. Made ahead, the
// cost moves to the turn after the answer left, while it crosses the network.
//
// Each key is still used exactly once and only by the next caller (draft §5's ephemeral keys keep
// their forward secrecy): the slot holds at most one pair; taking it empties it and schedules the
// next one. A process that never took a key makes none; its first key is made on demand.

/** A value made by `make` for the next take(); refilled after each take on a later turn. */
export class MadeAhead<T> {
  private held: T | undefined;
  private refilling = false;

  constructor(private readonly make: () => T) {}

  /** The pre-made value if one is held, else a fresh one; either way the next is made after this turn. */
  take(): T {
    const v = this.held ?? this.make();
    this.held = undefined;
    this.scheduleRefill();
    return v;
  }

  private scheduleRefill(): void {
    if (this.refilling) return;
    this.refilling = true;
    // Not on this turn's check phase but on the next one, after the next I/O poll: a take on a turn
    // that also opened a connection (an initiator's CH1 key) must not put 0.1-0.25 ms of key
    // generation between the connect and the first flight it writes. Not unref'd: node lets the
    // poll block while only unref'd immediates wait, so the refill ran at the next I/O instead, in
    // the middle of the next request (measured: every CH1 key of the first-byte bench was made on
    // the spot). A pending refill holds a process for one more turn at most.
    setImmediate(() => {
      setImmediate(() => {
        this.refilling = false;
        if (this.held === undefined) this.held = this.make();
      });
    });
  }
}
