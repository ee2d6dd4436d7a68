// Where the gateway keeps the discovery revocations it signed: the configured file, else next to
// the identity key (the one directory the service may write), where `uzpgw publish revoke` writes.

import { dirname, join } from 'node:path';
import type { GatewayConfig } from '../../config/types.js';

export function discoveryRevocationsFileOf(config: Pick<GatewayConfig, 'identity' | 'publish'>): string {
  return config.publish?.revocations ?? join(dirname(config.identity.key), 'discovery-revocations.json');
}
