// The gateway's own PCert, replaceable while it runs: every RN attachment and every session
// handshake reads it when it starts (through `identity.pcert` getters built here), so a renewed
// PCert adopted from its file (artefact-intake.ts) is presented from the next attachment on, and
// links and sessions already up keep the one they were built with.

import type { PCert, Valid } from '../uzp/artefacts/types.js';

export class OwnPCert {
  private current: Valid<PCert>;

  constructor(valid: Valid<PCert>) {
    this.current = valid;
  }

  /** The PCert in force, as validated. */
  get valid(): Valid<PCert> {
    return this.current;
  }

  /** Its exact envelope bytes, as presented to RNs and peers. */
  get bytes(): Uint8Array {
    return this.current.bytes;
  }

  /** Called only with a PCert the adoption rule accepted (same key and role, newer). */
  replace(next: Valid<PCert>): void {
    this.current = next;
  }

  /** An identity whose `pcert` is always the one in force (for the LinkManager and the Endpoint). */
  identity<T extends object>(rest: T): T & { readonly pcert: Uint8Array } {
    const own = this;
    return Object.defineProperty({ ...rest }, 'pcert', { get: () => own.bytes, enumerable: true }) as T & { readonly pcert: Uint8Array };
  }
}
