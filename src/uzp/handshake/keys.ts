// What a completed handshake yields. Only the initiator and responder state machines can create a
// SessionKeys value (branded type), so traffic keys cannot exist without the checks (rustls-style).

import type { PCert, Grant, Valid } from '../artefacts/types.js';
import type { Suite } from './suites.js';
import type { HandshakeExtension } from './messages.js';

declare const sessionKeysBrand: unique symbol;

export interface TransportParams {
  readonly maxBlockPlaintext: number;
  readonly windowBlocks: number;
}

interface SessionKeysData {
  readonly role: 'initiator' | 'responder';
  readonly suite: Suite;
  readonly localCid: Uint8Array;
  readonly peerCid: Uint8Array;
  readonly localEid: Uint8Array;
  readonly peerEid: Uint8Array;
  /** Traffic secrets for our sending and receiving direction. */
  readonly sendSecret: Uint8Array;
  readonly recvSecret: Uint8Array;
  /** cid_i || eid_i || cid_r || eid_r: the block AD context (draft §7). */
  readonly adContext: Uint8Array;
  /** 0 when we are the initiator (we send in direction initiator->responder). */
  readonly direction: 0 | 1;
  readonly exporterMaster: Uint8Array;
  /** H(cid_i || cid_r || u16 suite || EE): binds exporters to both CIDs and transport params (draft §8). */
  readonly exporterBinding: Uint8Array;
  readonly responderParams: TransportParams;
  readonly peerPCert: Valid<PCert>;
  /** The Grant under which the session runs (validated by the responder; checked for sanity by the initiator). */
  readonly grant: Valid<Grant>;
  readonly peerExtensions: readonly HandshakeExtension[];
}

export type SessionKeys = SessionKeysData & { readonly [sessionKeysBrand]: true };

export function sealSessionKeys(d: SessionKeysData): SessionKeys {
  return d as SessionKeys;
}
