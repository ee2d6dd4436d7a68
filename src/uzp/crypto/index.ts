// One place that knows both providers. Everything else takes a CryptoProvider as an argument;
// only the composition root (gateway, RN, CLI) chooses which one.

import { nobleProvider } from './noble.js';
import { nodeProvider } from './node.js';
import type { CryptoProvider } from './provider.js';
import { CommonCode, LocalError } from '../../lib/errors.js';

type ProviderName = CryptoProvider['name'];

/** Every provider, default first. Both must pass test/uzp/crypto/compliance.ts. */
export const PROVIDERS: readonly CryptoProvider[] = Object.freeze([nodeProvider, nobleProvider]);

/** `node` (OpenSSL, the default: much faster on a Pi for curves and AEAD) or `noble` (pure JS). */
export function getProvider(name: ProviderName = 'node'): CryptoProvider {
  const p = PROVIDERS.find((x) => x.name === name);
  // A provider name comes from configuration or the command line: a local, fixable mistake.
  if (p === undefined) {
    throw new LocalError(CommonCode.CONFIG_INVALID, `unknown crypto provider ${JSON.stringify(name)}; expected one of: ${PROVIDERS.map((x) => x.name).join(', ')}`);
  }
  return p;
}

export { nodeProvider, nobleProvider };
