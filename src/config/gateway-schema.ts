// The schema of the gateway config file: identity and trust files, the board, audit settings,
// reusable device profiles, and per slot the device. Relative paths are resolved against the
// directory of the config file (so a config and its keys can move together).

import { resolve } from 'node:path';
import { childPath } from '../lib/json-path.js';
import type { IssueLog } from './issues.js';
import type { Node } from './node.js';
import { parseDevice, type DeviceContext } from './device-schema.js';
import { BOARD_ID, SLOT_ID } from './board-schema.js';
import { parseProfile, PROFILE_NAME } from './register-schema.js';
import { parsePublish, parseReadingLog } from './publish-schema.js';
import { AUDIT_LEVELS, TPM_MODES, type AttestationConfig, type AuditConfig, type DeviceConfig, type DeviceProfile, type GatewayConfig } from './types.js';

const CONFIG_KIND = 'uzp-gw/gateway-config';
export const MAX_SLOTS = 64;
/** Upper bound of `sessions.per_operator` (each session can hold about 3 MiB its operator leaves unread). */
const MAX_SESSIONS_PER_OPERATOR = 1024;

/** A file the config names, with the fix to suggest when it is missing. */
export interface FileRef {
  readonly path: string;
  readonly file: string;
  readonly what: string;
  readonly fix: string;
  /** 'dir': only the directory containing `file` must exist (files the gateway creates). */
  readonly mode: 'file' | 'dir';
}

export interface ParsedSlot {
  readonly id: string;
  /** Field path of the slot entry, e.g. `slots.rs485-1`. */
  readonly path: string;
  readonly label?: string;
  readonly portPath?: string;
  readonly device: DeviceConfig;
}

export type ParsedConfig = Omit<GatewayConfig, 'slots'> & { readonly slots: readonly ParsedSlot[]; readonly fileRefs: readonly FileRef[] };

// No control characters: a path goes into the systemd unit `flash` writes (ReadWritePaths=), where a
// newline would add directives of the config's choosing.
const PATH_RULE = { max: 1024, pattern: /^[^\0-\x1f\x7f]+$/, what: 'a file path without control characters (relative paths are resolved against the config file)' };

export function parseConfig(root: Node, log: IssueLog, file: string): ParsedConfig {
  const dir = resolve(file, '..');
  const at = (p: string): string => resolve(dir, p);
  const refs: FileRef[] = [];
  const fileField = (n: Node, what: string, fix: string, mode: 'file' | 'dir' = 'file'): string => {
    const p = n.text(PATH_RULE);
    if (p === '') return '';
    refs.push({ path: n.path, file: at(p), what, fix, mode });
    return at(p);
  };

  const o = root.obj(['kind', 'name', 'identity', 'trust', 'rn', 'sessions', 'reading_log', 'publish', 'board', 'virtual_dir', 'audit', 'attestation', 'device_profiles', 'slots'], 'a gateway config object');
  o.req('kind').choice([CONFIG_KIND] as const, ' (it tells a config from the other JSON files of a gateway)');
  const name = o.opt('name', (x) => x.text({ max: 64 }));

  const id = o.req('identity').obj(['key', 'pcert'], 'an object {"key": FILE, "pcert": FILE}');
  const identity = {
    key: fileField(id.req('key'), 'identity key file', 'create it with `uzpgw keygen --out FILE --request REQ` and point "key" at it'),
    pcert: fileField(id.req('pcert'), 'PCert file', 'have the domain admin issue it with `uzpgw pantheon enroll` and copy it here'),
  };
  const tr = o.req('trust').obj(['anchor', 'rn_set', 'revocations'], 'an object {"anchor": FILE, "rn_set": FILE, "revocations"?: [FILE]}');
  const trust = {
    anchor: fileField(tr.req('anchor'), 'trust anchor', 'copy trust.json from the domain admin (`uzpgw pantheon init` writes it)'),
    rnSet: fileField(tr.req('rn_set'), 'RN Set Statement', 'have the domain admin issue it with `uzpgw pantheon rn-set` and copy it here'),
    revocations: (tr.opt('revocations', (x) => x.list(0, 16, 'revocation list files')) ?? []).map((x) =>
      fileField(x, 'revocation list', 'copy it from the domain admin (`uzpgw pantheon revoke` writes it) or remove the entry'),
    ),
  };

  // draft §11.1: RNs kept attached at once (warm standby); 1 turns the standby off.
  const rnObj = o.opt('rn', (x) => x.obj(['links'], 'an object {"links"?: 1..4}'));
  const rnLinks = rnObj?.opt('links', (x) => x.int(1, 4, 'how many RNs to stay attached to at once, 1..4 (2 = one warm standby)')) ?? 2;

  // Sessions one operator may hold at once (gateway/hil/session-cap.ts says why there is a bound).
  const sessionsObj = o.opt('sessions', (x) => x.obj(['per_operator'], 'an object {"per_operator"?: 1..1024}'));
  // Absent: the gateway's default (DEFAULT_SESSIONS_PER_OPERATOR there).
  const sessionsPerOperator = sessionsObj?.opt('per_operator', (x) => x.int(1, MAX_SESSIONS_PER_OPERATOR, `how many sessions one operator may hold at once, 1..${MAX_SESSIONS_PER_OPERATOR}`));

  const readingLog = parseReadingLog(o, fileField);
  const publish = parsePublish(o, fileField);

  const board = o.req('board').text({ pattern: BOARD_ID, max: 32, what: 'a board id such as rpi-4b or virtual (see `uzpgw boards`)' });
  const virtualDir = o.opt('virtual_dir', (x) => {
    const p = x.text(PATH_RULE);
    return p === '' ? '' : at(p);
  });

  const au = o.opt('audit', (x) => x.obj(['file', 'level'], 'an object {"file"?: FILE, "level"?: "info"}'));
  const auditFile = au?.opt('file', (x) => fileField(x, 'audit log', 'create the directory, or drop "file" to log audit lines to stdout (journald)', 'dir'));
  const audit: AuditConfig = { ...(auditFile !== undefined ? { file: auditFile } : {}), level: au?.opt('level', (x) => x.choice(AUDIT_LEVELS)) ?? 'info' };

  const att = o.opt('attestation', (x) => x.obj(['tpm', 'tcti', 'debug'], 'an object {"tpm"?: "auto"|"off"|"required", "tcti"?: TCTI, "debug"?: bool}'));
  // A device TCTI names a TPM node (its path goes into the unit's DeviceAllow=, which must not open
  // any other device to the service: /dev/sda, /dev/mem); the others talk over sockets.
  const tcti = att?.opt('tcti', (x) => x.text({ max: 256, pattern: /^(device:\/dev\/tpm(rm)?[0-9]{1,3}|(swtpm|mssim|tabrmd):[\x21-\x7e]*)$/, what: 'a TCTI such as device:/dev/tpmrm0 (a TPM device node: /dev/tpmN or /dev/tpmrmN) or swtpm:host=127.0.0.1,port=2321' }));
  const attestation: AttestationConfig = {
    tpm: att?.opt('tpm', (x) => x.choice(TPM_MODES)) ?? 'auto',
    ...(tcti !== undefined ? { tcti } : {}),
    debug: att?.opt('debug', (x) => x.bool()) ?? false,
  };

  const profiles = new Map<string, DeviceProfile>();
  const badProfiles = new Set<string>();
  const profileEntries = o.opt('device_profiles', (x) => x.entries({ pattern: PROFILE_NAME, max: 64, what: 'a profile name such as acme-th20 (letters, digits, . _ -)' }, 256, 'device profiles')) ?? [];
  for (const [k, n] of profileEntries) {
    const p = parseProfile(k, n, log);
    if (log.hasErrorWithin(n.path)) badProfiles.add(k);
    else profiles.set(k, p);
  }

  const ctx: DeviceContext = { log, profiles, badProfiles, resolve: at };
  const slots: ParsedSlot[] = [];
  const slotEntries = o.req('slots').entries({ pattern: SLOT_ID, max: 64, what: 'a slot id of the board such as rs485-1' }, MAX_SLOTS, 'slot settings');
  for (const [sid, n] of slotEntries) {
    const s = n.obj(['label', 'port_path', 'device'], 'an object {"device": {...}}');
    const label = s.opt('label', (x) => x.text({ max: 128 }));
    const portPath = s.opt('port_path', (x) => x.text({ max: 256, pattern: /^(?!.*\/\.\.?(?:\/|$))\/dev\/[A-Za-z0-9._+:\\/-]+$/, what: 'an absolute device path under /dev/ (no . or .. segments), e.g. /dev/serial/by-id/usb-FTDI_…-if00-port0' }));
    const device = parseDevice(s.req('device'), ctx);
    slots.push({ id: sid, path: n.path, ...(label !== undefined ? { label } : {}), ...(portPath !== undefined ? { portPath } : {}), device });
    if (device.driver === 'mqtt-bridge') {
      const dp = childPath(n.path, 'device');
      if (device.passwordFile !== undefined) refs.push({ path: childPath(dp, 'password_file'), file: device.passwordFile, what: 'MQTT password file', fix: 'create it (mode 0600) with the broker password on one line', mode: 'file' });
      if (device.caFile !== undefined) refs.push({ path: childPath(dp, 'ca_file'), file: device.caFile, what: 'CA certificate file', fix: 'copy the broker’s CA certificate (PEM) there', mode: 'file' });
    }
  }

  return {
    file,
    dir,
    ...(name !== undefined ? { name } : {}),
    identity,
    trust,
    rnLinks,
    ...(sessionsPerOperator !== undefined ? { sessionsPerOperator } : {}),
    readingLog,
    ...(publish !== undefined ? { publish } : {}),
    board,
    ...(virtualDir !== undefined ? { virtualDir } : {}),
    audit,
    attestation,
    deviceProfiles: [...profiles.values()],
    slots,
    fileRefs: refs,
  };
}


