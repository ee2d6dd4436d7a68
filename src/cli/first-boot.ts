// `uzpgw first-boot --config FILE`: run on the device before the gateway (the unit's ExecStartPre).
// Creates the identity key named by the config and an enrollment request next to it when there is
// no key yet; otherwise does nothing. Works before the PCert and trust files exist.

import { loadGatewayConfig } from '../config/index.js';
import type { GatewayConfig } from '../config/types.js';
import { nodeProvider } from '../uzp/crypto/node.js';
import { firstBoot, type FirstBootResult } from '../flash/first-boot.js';
import { SERVICE_USER } from '../flash/layout.js';
import { defineCommand } from './define.js';

const DESCRIPTION = [
  'Creates the gateway identity on first boot: when the identity key named by the config does not',
  'exist, generates it (mode 0600; it never leaves the device) and writes enroll-request.json next',
  'to it for the domain admin. When the key exists, does nothing. Exit status: 0 done or nothing to',
  'do, 1 failed, 2 usage error.',
].join('\n');

function instructions(c: GatewayConfig, r: FirstBootResult): string {
  if (!r.created) return `identity key ${r.key} exists; nothing to do\n`;
  return [
    `first boot: created gateway identity ${r.cid ?? ''} (name ${JSON.stringify(r.name ?? '')})`,
    `  key:      ${r.key} (0600; never leaves this device)`,
    `  request:  ${r.request ?? ''}`,
    'next:',
    `  1. hand ${r.request ?? ''} to the domain admin, who runs:`,
    '       uzpgw pantheon enroll --dir DOMAIN --request enroll-request.json --role gateway --out gateway.pcert',
    `  2. copy the PCert to ${c.identity.pcert} (owner ${SERVICE_USER}),`,
    `     the trust anchor to ${c.trust.anchor} and the RN Set Statement to ${c.trust.rnSet};`,
    '     the gateway is waiting for them and starts on its own once they are there.',
  ].join('\n') + '\n';
}

export const command = defineCommand({
  name: 'first-boot',
  summary: 'on the device: create the identity key and enrollment request if missing',
  description: DESCRIPTION,
  flags: {
    config: { type: 'string', placeholder: 'FILE', required: true, describe: 'the gateway config (its identity.key says where the key goes)' },
  },
  json: 'one JSON object: {event: "first_boot", created, key, cid?, request?, name?, pcert, trust_anchor, rn_set} (cid, request and name when a key was created)',
  run({ flags }, io) {
    // checkFiles: false: on first boot the PCert and trust files cannot exist yet.
    const config = loadGatewayConfig(flags.config, { checkFiles: false });
    const r = firstBoot(nodeProvider, config);
    if (flags.json) {
      io.stdout.write(
        JSON.stringify({
          event: 'first_boot',
          created: r.created,
          key: r.key,
          ...(r.cid !== undefined ? { cid: r.cid, request: r.request, name: r.name } : {}),
          pcert: config.identity.pcert,
          trust_anchor: config.trust.anchor,
          rn_set: config.trust.rnSet,
        }) + '\n',
      );
    } else io.stdout.write(instructions(config, r));
    return 0;
  },
});
