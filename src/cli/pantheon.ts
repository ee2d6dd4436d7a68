// `uzpgw pantheon <sub>`: the offline trust-domain issuer. This file only parses flags and prints;
// the logic lives in src/pantheon/. Every subcommand takes --help and --json.

import { initDomain } from '../pantheon/init.js';
import { enroll } from '../pantheon/enroll.js';
import { grant } from '../pantheon/grant.js';
import { rnSet } from '../pantheon/rnset.js';
import { revoke } from '../pantheon/revoke.js';
import { show } from '../pantheon/show.js';
import { DAY, HOUR } from '../pantheon/domain.js';
import { renderHuman } from '../pantheon/render.js';
import { isRole } from '../uzp/artefacts/pcert.js';
import { nodeProvider } from '../uzp/crypto/node.js';
import { bool, helpText, int, list, parseArgs, requireStr, str, usageError, type FlagSpecs, type Parsed } from './args.js';
import type { Command, CommandIo } from './command.js';

const JSON_FLAG = { json: { type: 'boolean', describe: 'print the result as one JSON object' } } as const;
const DIR_FLAG = { dir: { type: 'string', describe: 'trust domain directory (root.key, trust.json, state.json)', placeholder: 'DIR' } } as const;
const OUT_FLAG = { out: { type: 'string', describe: 'artefact file to write (binary envelope)', placeholder: 'FILE' } } as const;

interface Sub {
  readonly usage: string;
  readonly description: string;
  readonly flags: FlagSpecs;
  run(p: Parsed): { title: string; result: Record<string, unknown> };
}

function role(p: Parsed): 'gateway' | 'operator' | 'rn' {
  const r = requireStr(p, 'role');
  if (!isRole(r)) throw usageError(`--role: expected gateway, operator or rn, got ${JSON.stringify(r)}`);
  return r;
}

const SUBS: Record<string, Sub> = {
  init: {
    usage: 'uzpgw pantheon init --dir DIR --domain NAME [--json]',
    description: 'Creates a trust domain: a new root key DIR/root.key (mode 0600), the trust anchor DIR/trust.json to give to every gateway, operator and RN, and DIR/state.json. Refuses to overwrite an existing domain.',
    flags: { ...DIR_FLAG, domain: { type: 'string', describe: 'domain name, e.g. plant-7.example', placeholder: 'NAME' }, ...JSON_FLAG },
    run: (p) => {
      const r = initDomain(nodeProvider, requireStr(p, 'dir'), requireStr(p, 'domain'));
      return { title: `initialised trust domain ${r.domain}`, result: { ...r } };
    },
  },
  enroll: {
    usage: 'uzpgw pantheon enroll --dir DIR (--public HEX | --request FILE) --role gateway|operator|rn [--name N] [--days N] --out FILE [--json]',
    description: 'Issues a PCert binding a public key to its CID and a role. With --request the enrollment request (from `uzpgw keygen --request`) is verified first.',
    flags: {
      ...DIR_FLAG,
      public: { type: 'string', describe: 'Ed25519 public key, 64 hex characters', placeholder: 'HEX' },
      request: { type: 'string', describe: 'enrollment request file', placeholder: 'FILE' },
      role: { type: 'string', describe: 'gateway, operator or rn', placeholder: 'ROLE' },
      name: { type: 'string', describe: 'human-readable name put in the PCert', placeholder: 'N' },
      days: { type: 'string', describe: 'validity in days (default 365)', placeholder: 'N' },
      ...OUT_FLAG,
      ...JSON_FLAG,
    },
    run: (p) => {
      const r = enroll(nodeProvider, {
        dir: requireStr(p, 'dir'),
        publicHex: str(p, 'public'),
        requestFile: str(p, 'request'),
        role: role(p),
        name: str(p, 'name'),
        days: int(p, 'days', 365, 1, 3650),
        out: requireStr(p, 'out'),
        nowMs: Date.now(),
      });
      return { title: `issued PCert for ${r.cid}`, result: { ...r } };
    },
  },
  grant: {
    usage:
      'uzpgw pantheon grant --dir DIR --subject CID --audience CID --purpose SPEC... [--slot ID] [--device ID] [--hours N|--days N] [--nonce N] [--early-data] [--no-replay] --out FILE [--json]',
    description:
      'Issues a Grant letting SUBJECT (initiator, e.g. an operator) reach AUDIENCE (responder, e.g. a gateway) for the given purposes. SPEC examples: serial.read, modbus.write:units=1,2:regs=0-99,200-210, mqtt.subscribe:topics=plant/+/temp,alarms/#. Without --nonce the next nonce for this subject and audience is taken from DIR/state.json.',
    flags: {
      ...DIR_FLAG,
      subject: { type: 'string', describe: 'CID of the initiator', placeholder: 'CID' },
      audience: { type: 'string', describe: 'CID of the responder', placeholder: 'CID' },
      purpose: { type: 'list', describe: 'a purpose (repeatable)', placeholder: 'SPEC' },
      slot: { type: 'string', describe: 'HIL slot id the Grant is limited to', placeholder: 'ID' },
      device: { type: 'string', describe: 'device id the Grant is limited to', placeholder: 'ID' },
      hours: { type: 'string', describe: 'validity in hours (default 24)', placeholder: 'N' },
      days: { type: 'string', describe: 'validity in days', placeholder: 'N' },
      nonce: { type: 'string', describe: 'explicit Grant nonce (default: next from state)', placeholder: 'N' },
      'early-data': { type: 'boolean', describe: 'permit 0-RTT early data (draft §9)' },
      'no-replay': { type: 'boolean', describe: 'forbid 0-RTT under this Grant (draft §9)' },
      ...OUT_FLAG,
      ...JSON_FLAG,
    },
    run: (p) => {
      if (str(p, 'hours') !== undefined && str(p, 'days') !== undefined) throw usageError('give --hours or --days, not both');
      const seconds = str(p, 'days') !== undefined ? int(p, 'days', 1, 1, 3650) * DAY : int(p, 'hours', 24, 1, 87_600) * HOUR;
      const r = grant(nodeProvider, {
        dir: requireStr(p, 'dir'),
        subject: requireStr(p, 'subject'),
        audience: requireStr(p, 'audience'),
        purposes: list(p, 'purpose'),
        slot: str(p, 'slot'),
        device: str(p, 'device'),
        seconds,
        nonce: str(p, 'nonce') === undefined ? undefined : int(p, 'nonce', 0),
        earlyData: bool(p, 'early-data'),
        noReplay: bool(p, 'no-replay'),
        out: requireStr(p, 'out'),
        nowMs: Date.now(),
      });
      return { title: `issued Grant nonce ${r.nonce}`, result: { ...r } };
    },
  },
  'rn-set': {
    usage: 'uzpgw pantheon rn-set --dir DIR --rn PUBHEX@host:port[,host:port]... [--scope S] [--epoch N] [--roles R,...] [--days N] --out FILE [--json]',
    description:
      'Issues an RN Set Statement listing the Rendezvous Nodes endpoints may use. The sequence number increases automatically; --epoch may raise (never lower) the epoch. The scope defaults to the domain name.',
    flags: {
      ...DIR_FLAG,
      rn: { type: 'list', describe: 'an RN: its Ed25519 public key and addresses (repeatable)', placeholder: 'PUBHEX@HOST:PORT' },
      scope: { type: 'string', describe: 'scope of the statement (default: the domain name)', placeholder: 'S' },
      epoch: { type: 'string', describe: 'epoch (default: the last one issued, else 0)', placeholder: 'N' },
      roles: { type: 'string', describe: 'comma-separated roles for the listed RNs (default relay)', placeholder: 'R,...' },
      days: { type: 'string', describe: 'validity in days (default 30)', placeholder: 'N' },
      ...OUT_FLAG,
      ...JSON_FLAG,
    },
    run: (p) => {
      const r = rnSet(nodeProvider, {
        dir: requireStr(p, 'dir'),
        rns: list(p, 'rn'),
        scope: str(p, 'scope'),
        epoch: str(p, 'epoch') === undefined ? undefined : int(p, 'epoch', 0),
        roles: (str(p, 'roles') ?? 'relay').split(','),
        days: int(p, 'days', 30, 1, 3650),
        out: requireStr(p, 'out'),
        nowMs: Date.now(),
      });
      return { title: `issued RN Set Statement epoch ${r.epoch} sequence ${r.sequence}`, result: { ...r } };
    },
  },
  revoke: {
    usage: 'uzpgw pantheon revoke --dir DIR [--cid HEX]... [--object-id HEX]... [--artefact FILE]... [--days N] --out FILE [--json]',
    description:
      'Issues the next revocation list: every earlier revocation of this domain plus the given CIDs and artefacts (by object_id or file), with the sequence number increased. Distribute the newest list to every endpoint and RN.',
    flags: {
      ...DIR_FLAG,
      cid: { type: 'list', describe: 'revoke an identity (repeatable)', placeholder: 'HEX' },
      'object-id': { type: 'list', describe: 'revoke an artefact by object_id (repeatable)', placeholder: 'HEX' },
      artefact: { type: 'list', describe: 'revoke the artefact in FILE (repeatable)', placeholder: 'FILE' },
      days: { type: 'string', describe: 'validity of the list in days (default 365)', placeholder: 'N' },
      ...OUT_FLAG,
      ...JSON_FLAG,
    },
    run: (p) => {
      const r = revoke(nodeProvider, {
        dir: requireStr(p, 'dir'),
        cids: list(p, 'cid'),
        objectIds: list(p, 'object-id'),
        artefacts: list(p, 'artefact'),
        days: int(p, 'days', 365, 1, 3650),
        out: requireStr(p, 'out'),
        nowMs: Date.now(),
      });
      return { title: `issued revocation list sequence ${r.sequence}`, result: { ...r } };
    },
  },
  show: {
    usage: 'uzpgw pantheon show FILE [--dir DIR] [--json]',
    description: 'Decodes an artefact file and prints its fields, object_id, body and validity; with --dir also checks its signatures against DIR/trust.json.',
    flags: { dir: { type: 'string', describe: 'trust domain (or any directory holding trust.json) to check signatures against', placeholder: 'DIR' }, ...JSON_FLAG },
    run: (p) => {
      const [file, ...extra] = p.positionals;
      if (file === undefined || extra.length > 0) throw usageError('show takes exactly one FILE');
      const r = show(nodeProvider, file, { dir: str(p, 'dir'), nowMs: Date.now() });
      return { title: `${String(r.type)} ${String(r.object_id)}`, result: r };
    },
  },
};

function topHelp(): string {
  const lines = ['usage: uzpgw pantheon <subcommand> [options]', '', 'Offline trust-domain issuer: keys, PCerts, Grants, RN Set Statements, revocations.', '', 'subcommands:'];
  for (const [name, s] of Object.entries(SUBS)) lines.push(`  ${name.padEnd(8)}${s.usage.replace(/^uzpgw pantheon \S+ ?/, '')}`);
  lines.push('', 'Run `uzpgw pantheon <subcommand> --help` for details.');
  return lines.join('\n') + '\n';
}

async function run(argv: string[], io: CommandIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(topHelp());
    return name === undefined ? 2 : 0;
  }
  const sub = Object.prototype.hasOwnProperty.call(SUBS, name) ? SUBS[name] : undefined;
  if (sub === undefined) throw usageError(`unknown subcommand ${JSON.stringify(name)}; run \`uzpgw pantheon --help\``);
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout.write(helpText(sub.usage, sub.description, sub.flags));
    return 0;
  }
  const p = parseArgs(rest, sub.flags);
  if (name !== 'show' && p.positionals.length > 0) throw usageError(`unexpected argument ${JSON.stringify(p.positionals[0])}`);
  const { title, result } = sub.run(p);
  io.stdout.write(bool(p, 'json') ? JSON.stringify(result) + '\n' : name === 'show' ? JSON.stringify(result, null, 2) + '\n' : renderHuman(title, result));
  return 0;
}

export const command: Command = {
  summary: 'offline trust-domain issuer (init, enroll, grant, rn-set, revoke, show)',
  run,
};
