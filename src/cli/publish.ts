// `uzpgw publish grant|revoke`: the gateway's consent to a collector (outbound-indexing draft
// §9-§11), signed with the gateway's own key. `grant` writes a Discovery Grant (scope, purposes,
// constraints, usage policy) for the gateway config's "publish" entry to name; `revoke` withdraws
// consent for a grant, some slots, or everything granted to a collector, into the revocations file
// the running gateway watches: it tells the collector, which stops, deletes and confirms.

import { loadGatewayConfig } from '../config/index.js';
import type { GatewayConfig } from '../config/types.js';
import { readArtefactFile, writeArtefactFile } from '../files/artefact-file.js';
import { appendDiscoveryRevocation } from '../files/discovery-revocations.js';
import { loadKeyFile } from '../files/keyfile.js';
import { issueDiscoveryGrant, issueDiscoveryRevocation } from '../gateway/publisher/issue.js';
import { discoveryRevocationsFileOf } from '../gateway/publisher/paths.js';
import { ALL_SLOTS } from '../uzp/artefacts/discovery-grant.js';
import { MAX_REVOKED_SLOTS } from '../uzp/artefacts/discovery-revocation.js';
import { openArtefact } from '../uzp/artefacts/open.js';
import { equal, toHex } from '../uzp/bytes.js';
import { nodeProvider } from '../uzp/crypto/node.js';
import { defineCommand, defineGroup } from './define.js';
import { cidFlag, usageError } from './flags.js';
import { naming } from '../lib/errors.js';
import { grantSlots, grantTerms } from './publish-flags.js';

const DAY = 86_400;
const CONFIG_FLAG = { config: { type: 'string', placeholder: 'FILE', required: true, describe: 'the gateway config (its identity key signs)' } } as const;
const COLLECTOR_FLAG = { collector: { type: 'string', placeholder: 'CID', required: true, describe: "the collector's CID (64 hex digits; `uzpgw collector --config F --show-cid`)" } } as const;

function gatewayKey(config: GatewayConfig): ReturnType<typeof loadKeyFile> {
  return loadKeyFile(nodeProvider, config.identity.key);
}

/**
 * The --slot values of a revocation, each a slot the grant names or the config has: a name that is
 * neither withdraws nothing (the gateway matches revoked slots by name), so a typo would report a
 * revocation while the collector keeps taking the slot meant. A slot the config no longer has but
 * the grant names stays revocable, and so does every config slot under a '*' grant.
 */
function revokedSlots(given: readonly string[], grantFile: string, grantScope: readonly string[], config: GatewayConfig, configFile: string): string[] {
  const slots = [...new Set(given)];
  const known = [...new Set([...grantScope.filter((s) => s !== ALL_SLOTS), ...config.slots.map((s) => s.id)])];
  const unknown = slots.filter((s) => !known.includes(s));
  if (unknown.length > 0) {
    throw usageError(`--slot ${unknown.join(', ')}: not a slot of the grant ${grantFile} nor of ${configFile} (slots: ${known.length > 0 ? known.join(', ') : 'none'}; without --slot the whole grant is withdrawn)`);
  }
  if (slots.length > MAX_REVOKED_SLOTS) throw usageError(`--slot: at most ${MAX_REVOKED_SLOTS} slots in one revocation (withdraw the whole grant without --slot, or revoke in parts)`);
  return slots;
}

const grant = defineCommand({
  name: 'publish grant',
  summary: 'sign a Discovery Grant: what a collector may take, for what, under which policy',
  description:
    "Signs a Discovery Grant with the gateway's key (OI §9): the collector (--collector) may take the readings of the --slot slots ('*' = every slot) for the --purpose purposes, keep them --retention-days, take at most --max-rate readings/s, and must attribute them as --attribution says. The policy allows --allow (default: the purposes) and denies --deny (default ai.train, ai.finetune); redistribution only with --redistribution. Name the file in the gateway config's publish.collectors[].discovery_grant.",
  flags: {
    ...CONFIG_FLAG,
    ...COLLECTOR_FLAG,
    slot: { type: 'list', placeholder: 'SLOT', required: true, describe: "a slot the collector may take readings of ('*' = every slot)" },
    purpose: { type: 'list', placeholder: 'NAME', describe: 'what the collector may process them for (default telemetry.store)' },
    'retention-days': { type: 'int', placeholder: 'N', min: 1, max: 36_500, default: 365, describe: 'how long the collector may keep readings' },
    'max-rate': { type: 'int', placeholder: 'N', min: 1, describe: 'at most N readings per second are published' },
    attribution: { type: 'string', placeholder: 'TEXT', describe: 'how readings must be attributed downstream' },
    allow: { type: 'list', placeholder: 'NAME', describe: 'purposes the policy allows (default: the --purpose list)' },
    deny: { type: 'list', placeholder: 'NAME', describe: 'purposes the policy denies (default ai.train, ai.finetune)' },
    redistribution: { type: 'boolean', describe: 'the collector may pass readings on to third parties' },
    days: { type: 'int', placeholder: 'N', min: 1, max: 3650, default: 365, describe: 'validity of the grant in days' },
    out: { type: 'string', placeholder: 'FILE', required: true, describe: 'where to write the grant (a regular file there is replaced, through a symlink too; a pipe, device or directory is refused)' },
  },
  json: '{"file", "object_id", "collector", "expires_at"}',
  run({ flags }, io) {
    const collector = cidFlag(flags.collector, 'collector');
    const { purposes, allow, deny } = grantTerms(flags);
    const config = loadGatewayConfig(flags.config, { checkFiles: false });
    const slots = grantSlots(flags.slot, config, flags.config);
    const id = gatewayKey(config);
    const nowMs = Date.now();
    const bytes = issueDiscoveryGrant(nodeProvider, id.signer, {
      collector,
      nowMs,
      validS: flags.days * DAY,
      body: {
        scope: slots.map((slot) => ({ slot })),
        purposes,
        constraints: { retentionDays: flags['retention-days'], ...(flags['max-rate'] !== undefined ? { maxRate: flags['max-rate'] } : {}), ...(flags.attribution !== undefined ? { attribution: flags.attribution } : {}) },
        policy: { allow, deny, retentionDays: flags['retention-days'], redistribution: flags.redistribution },
      },
    });
    writeArtefactFile(flags.out, bytes);
    const env = openArtefact(nodeProvider, bytes, 'discovery-grant');
    const out = { file: flags.out, object_id: toHex(env.objectId), collector: toHex(collector), expires_at: new Date(env.expiresAt * 1000).toISOString() };
    io.stdout.write(flags.json ? JSON.stringify(out) + '\n' : `Discovery Grant ${out.object_id.slice(0, 16)}… for collector ${out.collector.slice(0, 16)}… (slots ${slots.join(', ')}; ${purposes.join(', ')}) valid until ${out.expires_at}: ${flags.out}\n`);
    return 0;
  },
});

const revoke = defineCommand({
  name: 'publish revoke',
  summary: "withdraw consent: a grant's slots, a whole grant, or everything for a collector",
  description:
    "Signs a revocation with the gateway's key (OI §11.6) and adds it to the gateway's revocations file (publish.revocations, default discovery-revocations.json beside the identity key). The running gateway picks it up at once (or on SIGHUP), stops publishing what it withdraws and tells the collector, which stops, deletes those readings and confirms with a signed receipt (see `uzpgw status`). Without --grant the grant is the one the config names for --collector; --all withdraws every grant to that collector.",
  flags: {
    ...CONFIG_FLAG,
    ...COLLECTOR_FLAG,
    grant: { type: 'string', placeholder: 'FILE', describe: "the Discovery Grant to withdraw (default: the config's for this collector)" },
    slot: { type: 'list', placeholder: 'SLOT', describe: 'withdraw only these slots of the grant (each one the grant names or the config has)' },
    all: { type: 'boolean', describe: 'withdraw every grant to this collector (the whole relationship)' },
  },
  json: '{"file", "object_id", "collector", "grant"?, "slots"?}',
  run({ flags }, io) {
    if (flags.all && (flags.grant !== undefined || (flags.slot ?? []).length > 0)) throw usageError('--all withdraws everything: give it without --grant or --slot');
    const collector = cidFlag(flags.collector, 'collector');
    const config = loadGatewayConfig(flags.config, { checkFiles: false });
    let grantId: Uint8Array | undefined;
    let slots: string[] = [];
    if (!flags.all) {
      const file = flags.grant ?? config.publish?.collectors.find((c) => equal(c.cid, collector))?.discoveryGrant;
      if (file === undefined) throw usageError(`${flags.config} names no Discovery Grant for collector ${flags.collector.slice(0, 16)}…: give --grant FILE or --all`);
      // Named by where it came from: a file that is no Discovery Grant said only "invalid CBOR", one
      // that is missing or a directory only "FILE: not a regular file".
      const from = flags.grant !== undefined ? `--grant ${file}` : `${file} (the discovery_grant ${flags.config} names)`;
      const bytes = naming(from, () => readArtefactFile(file));
      const env = naming(from, () => openArtefact(nodeProvider, bytes, 'discovery-grant'));
      if (env.audience === undefined || !equal(env.audience, collector)) throw usageError(`${file} is a grant for another collector`);
      grantId = env.objectId;
      slots = revokedSlots(flags.slot, file, env.body.scope.map((s) => s.slot), config, flags.config);
    }
    const id = gatewayKey(config);
    const bytes = issueDiscoveryRevocation(nodeProvider, id.signer, { collector, ...(grantId !== undefined ? { grantId } : {}), ...(slots.length > 0 ? { slots } : {}), nowMs: Date.now() });
    const file = discoveryRevocationsFileOf(config);
    appendDiscoveryRevocation(file, bytes);
    const env = openArtefact(nodeProvider, bytes, 'discovery-revocation');
    const out = { file, object_id: toHex(env.objectId), collector: toHex(collector), ...(grantId !== undefined ? { grant: toHex(grantId) } : {}), ...(slots.length > 0 ? { slots } : {}) };
    io.stdout.write(flags.json ? JSON.stringify(out) + '\n' : `revocation ${out.object_id.slice(0, 16)}… added to ${file}; a running gateway applies it now (or on SIGHUP)\n`);
    return 0;
  },
});

export const command = defineGroup({
  name: 'publish',
  summary: "the gateway's consent to collectors: Discovery Grants and revocations",
  description: "Signs what the gateway lets collectors take of its readings (OI §9-§11), with the gateway's own key.",
  subcommands: [grant, revoke],
});
