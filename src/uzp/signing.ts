// Domain-separated, length-prefixed signature input, used for every Ed25519 signature in the
// profile (artefacts, enrollment requests, attachment, handshake): a signature made for one
// purpose can never verify for another, and no concatenation ambiguity exists.
//   input = u16be(len(context)) || context || u32be(len(message)) || message

import { utf8, Writer } from './bytes.js';

export function signatureInput(context: string, message: Uint8Array): Uint8Array {
  const ctx = utf8.encode(context);
  return new Writer(6 + ctx.length + message.length).u16(ctx.length).bytes(ctx).u32(message.length).bytes(message).finish();
}
