// `uzpgw pantheon <sub>`: the offline trust-domain issuer. This file only parses flags and prints;
// the logic lives in src/pantheon/. With --json each prints its result as one JSON object.

import { initDomain } from '../pantheon/init.js';
import { enroll } from '../pantheon/enroll.js';
import { grant } from '../pantheon/grant.js';
import { rnSet } from '../pantheon/rnset.js';
import { revoke } from '../pantheon/revoke.js';
import { show } from '../pantheon/show.js';
import { DAY, HOUR } from '../pantheon/domain.js';
import { renderHuman } from '../pantheon/render.js';
import { jsonIndented, jsonLine } from '../lib/terminal-text.js';
import { ROLES } from '../uzp/artefacts/pcert.js';
import { nodeProvider } from '../uzp/crypto/node.js';
import type { CommandIo } from './command.js';
import { defineCommand, defineGroup } from './define.js';
import { usageError } from './flags.js';

const DIR_FLAG = { dir: { type: 'string', placeholder: 'DIR', required: true, describe: 'trust domain directory (root.key, trust.json, state.json)' } } as const;
const OUT_FLAG = { out: { type: 'string', placeholder: 'FILE', required: true, describe: 'artefact file to write (binary envelope; a regular file there is replaced, through a symlink too; a pipe, device or directory refused)' } } as const;
const JSON_RESULT = 'the result as one JSON object (the same fields as the human form)';

/** Every subcommand prints a result object: "title" then key: value lines, or one JSON line. */
function print(io: CommandIo, json: boolean, title: string, result: object): number {
  io.stdout.write(json ? jsonLine(result) : renderHuman(title, { ...result }));
  return 0;
}

const init = defineCommand({
  name: 'pantheon init',
  summary: 'create a trust domain: root key, trust anchor, state',
  description:
    'Creates a trust domain: a new root key DIR/root.key (mode 0600), the trust anchor DIR/trust.json to give to every gateway, operator and RN, and DIR/state.json. Refuses to overwrite an existing domain.',
  flags: { ...DIR_FLAG, domain: { type: 'string', placeholder: 'NAME', required: true, describe: 'domain name, e.g. plant-7.example' } },
  json: JSON_RESULT,
  run({ flags }, io) {
    const r = initDomain(nodeProvider, flags.dir, flags.domain);
    return print(io, flags.json, `initialised trust domain ${r.domain}`, r);
  },
});

const enrollCommand = defineCommand({
  name: 'pantheon enroll',
  summary: 'issue a PCert for a public key or an enrollment request',
  description:
    'Issues a PCert binding a public key to its CID and a role. Give exactly one of --public and --request; with --request the enrollment request (from `uzpgw keygen --request`) is verified first.',
  flags: {
    ...DIR_FLAG,
    role: { type: 'string', placeholder: 'ROLE', required: true, choices: ROLES, describe: 'the role the PCert grants' },
    ...OUT_FLAG,
    public: { type: 'string', placeholder: 'HEX', describe: 'Ed25519 public key, 64 hex characters' },
    request: { type: 'string', placeholder: 'FILE', describe: 'enrollment request file' },
    name: { type: 'string', placeholder: 'N', describe: 'human-readable name put in the PCert' },
    days: { type: 'int', placeholder: 'N', min: 1, max: 3650, default: 365, describe: 'validity in days' },
  },
  json: JSON_RESULT,
  run({ flags }, io) {
    const r = enroll(nodeProvider, {
      dir: flags.dir,
      publicHex: flags.public,
      requestFile: flags.request,
      role: flags.role,
      name: flags.name,
      days: flags.days,
      out: flags.out,
      nowMs: Date.now(),
    });
    return print(io, flags.json, `issued PCert for ${r.cid}`, r);
  },
});

const grantCommand = defineCommand({
  name: 'pantheon grant',
  summary: 'issue a Grant: who may reach which gateway slot for which purposes, or publish to a collector',
  description:
    'Issues a Grant letting SUBJECT (an operator) reach AUDIENCE (a gateway) on one or more slots, each with its purposes. SPEC examples: serial.read, modbus.write:units=1,2:tables=holding:regs=0-99,200-210, mqtt.subscribe:topics=plant/+/temp,alarms/#; with several --slot flags prefix each purpose with its slot: --slot rs485-1 --slot tty-1 --purpose rs485-1/modbus.read:units=1 --purpose tty-1/serial.read. Unknown purposes, a subject or audience of the wrong role (when enrolled from DIR) and, with --config, slots the gateway lacks are refused. A new Grant never disables an older one: to take one back, revoke it (pantheon revoke --object-id). Give --hours or --days, not both. Without --nonce the next nonce for this subject and audience is taken from DIR/state.json. A publishing Grant lets SUBJECT (a gateway) publish the readings of its slots to AUDIENCE (a collector): --purpose telemetry.publish (no parameters) with --slot for each slot, or --slot \'*\' for every slot.',
  flags: {
    ...DIR_FLAG,
    subject: { type: 'string', placeholder: 'CID', required: true, describe: 'CID of the initiator' },
    audience: { type: 'string', placeholder: 'CID', required: true, describe: 'CID of the responder' },
    ...OUT_FLAG,
    purpose: { type: 'list', placeholder: '[SLOT/]SPEC', required: true, describe: 'a purpose (modbus.* take units= (default every unit; a write to unit 0, the broadcast, needs units=0), tables= (default holding), regs=; mqtt.* take topics=; diag.read (per-slave diagnostics of a Modbus slot) and telemetry.publish take none)' },
    slot: { type: 'list', placeholder: 'ID[@DEVICE]', required: true, describe: "a HIL slot the Grant reaches, optionally pinned to its device id ('*' = every slot, telemetry.publish only)" },
    device: { type: 'string', placeholder: 'ID', describe: 'device id of the only slot (same as --slot ID@DEVICE)' },
    config: { type: 'string', placeholder: 'FILE', describe: "the gateway's config: refuse slots (and devices) it does not have" },
    hours: { type: 'int', placeholder: 'N', min: 1, max: 87_600, describe: 'validity in hours (24 unless --days)' },
    days: { type: 'int', placeholder: 'N', min: 1, max: 3650, describe: 'validity in days' },
    // Below 2^53 - 1: the next Grant of the pair takes the nonce after the highest one issued.
    nonce: { type: 'int', placeholder: 'N', max: Number.MAX_SAFE_INTEGER - 1_000_000, describe: 'explicit Grant nonce (default: next from state)' },
    'early-data': { type: 'boolean', describe: 'permit 0-RTT early data (draft §9)' },
    'no-replay': { type: 'boolean', describe: 'forbid 0-RTT under this Grant (draft §9)' },
  },
  json: JSON_RESULT,
  run({ flags }, io) {
    if (flags.hours !== undefined && flags.days !== undefined) throw usageError('give --hours or --days, not both');
    const r = grant(nodeProvider, {
      dir: flags.dir,
      subject: flags.subject,
      audience: flags.audience,
      purposes: flags.purpose,
      slots: flags.slot,
      device: flags.device,
      config: flags.config,
      seconds: flags.days !== undefined ? flags.days * DAY : (flags.hours ?? 24) * HOUR,
      nonce: flags.nonce,
      earlyData: flags['early-data'],
      noReplay: flags['no-replay'],
      out: flags.out,
      nowMs: Date.now(),
    });
    return print(io, flags.json, `issued Grant nonce ${r.nonce}`, r);
  },
});

const rnSetCommand = defineCommand({
  name: 'pantheon rn-set',
  summary: 'issue an RN Set Statement: which Rendezvous Nodes endpoints may use',
  description:
    'Issues an RN Set Statement listing the Rendezvous Nodes endpoints may use, each as PUBHEX@host:port[,host:port]... An endpoint attaches at an address only to the RN listed there, so an address belongs to one --rn only (compared as dialled: host names in any case, IP literals in any spelling). The sequence number increases automatically; --epoch may raise (never lower) the epoch. The scope defaults to the domain name.',
  flags: {
    ...DIR_FLAG,
    ...OUT_FLAG,
    rn: { type: 'list', placeholder: 'PUBHEX@HOST:PORT', required: true, describe: 'an RN: its Ed25519 public key and addresses' },
    scope: { type: 'string', placeholder: 'S', describe: 'scope of the statement (default: the domain name)' },
    epoch: { type: 'int', placeholder: 'N', describe: 'epoch (default: the last one issued, else 0)' },
    roles: { type: 'string', placeholder: 'R,...', default: 'relay', describe: 'comma-separated roles for the listed RNs' },
    days: { type: 'int', placeholder: 'N', min: 1, max: 3650, default: 30, describe: 'validity in days' },
  },
  json: JSON_RESULT,
  run({ flags }, io) {
    const r = rnSet(nodeProvider, {
      dir: flags.dir,
      rns: flags.rn,
      scope: flags.scope,
      epoch: flags.epoch,
      roles: flags.roles.split(','),
      days: flags.days,
      out: flags.out,
      nowMs: Date.now(),
    });
    return print(io, flags.json, `issued RN Set Statement epoch ${r.epoch} sequence ${r.sequence}`, r);
  },
});

const revokeCommand = defineCommand({
  name: 'pantheon revoke',
  summary: 'issue the next revocation list (cumulative)',
  description:
    'Issues the next revocation list: every earlier revocation of this domain plus the given CIDs and artefacts (by object_id or file), with the sequence number increased. Distribute the newest list to every endpoint and RN.',
  flags: {
    ...DIR_FLAG,
    ...OUT_FLAG,
    cid: { type: 'list', placeholder: 'HEX', describe: 'revoke an identity' },
    'object-id': { type: 'list', placeholder: 'HEX', describe: 'revoke an artefact by object_id' },
    artefact: { type: 'list', placeholder: 'FILE', describe: 'revoke the artefact in FILE' },
    days: { type: 'int', placeholder: 'N', min: 1, max: 3650, default: 365, describe: 'validity of the list in days' },
  },
  json: JSON_RESULT,
  run({ flags }, io) {
    const r = revoke(nodeProvider, {
      dir: flags.dir,
      cids: flags.cid,
      objectIds: flags['object-id'],
      artefacts: flags.artefact,
      days: flags.days,
      out: flags.out,
      nowMs: Date.now(),
    });
    return print(io, flags.json, `issued revocation list sequence ${r.sequence}`, r);
  },
});

const showCommand = defineCommand({
  name: 'pantheon show',
  summary: 'decode an artefact file and check its signatures',
  description: 'Decodes an artefact file and prints its fields, object_id, body and validity; with --dir also checks its signatures against DIR/trust.json. Fields that are bytes by definition (object_id, issuer, subject, audience, kid, keys, CIDs) are lowercase hex; in CBOR shown as found (an extension\'s value, the wire map of a discovery grant, receipt or discovery revocation) a byte string is hex under its key with _hex added (a receipt\'s g_hex; value_hex for an extension value that is one) and {"hex":...} where there is no key, so bytes never print like text.',
  flags: { dir: { type: 'string', placeholder: 'DIR', describe: 'trust domain (or any directory holding trust.json) to check signatures against' } },
  args: ['FILE'],
  json: 'the decoded artefact as one JSON object (without --json: the same object, indented)',
  run({ flags, args }, io) {
    const r = show(nodeProvider, args[0]!, { dir: flags.dir, nowMs: Date.now() });
    // What the artefact says (a PCert's name, an RN's address, an extension's text) is its issuer's:
    // inert on a terminal either way (C1 controls and bidi overrides as \uXXXX escapes).
    io.stdout.write(flags.json ? jsonLine(r) : jsonIndented(r));
    return 0;
  },
});

export const command = defineGroup({
  name: 'pantheon',
  summary: 'offline trust-domain issuer (init, enroll, grant, rn-set, revoke, show)',
  description: 'Offline trust-domain issuer: keys, PCerts, Grants, RN Set Statements, revocations.',
  subcommands: [init, enrollCommand, grantCommand, rnSetCommand, revokeCommand, showCommand],
});
