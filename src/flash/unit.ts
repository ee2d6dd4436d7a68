// The systemd unit of the gateway. Every directive carries a comment saying why it is there, so
// whoever audits the image can check the sandbox against what the gateway actually needs:
// outbound TCP to its RN, the board's serial devices, the TPM, and one writable directory.

import { CLI_ENTRY, CONFIG_DIR, CONFIG_FILE, INSTALL_DIR, SERVICE_USER, STATE_DIR } from './layout.js';
import { CommonCode, LocalError } from '../lib/errors.js';
import type { DevicePlan } from './device-allow.js';

interface UnitInput {
  /** Absolute path of node on the device. */
  readonly node: string;
  readonly board: string;
  readonly swversion: string;
  readonly devices: DevicePlan;
  /** Directory of the configured audit log file, when the config writes one. */
  readonly auditDir?: string;
}

/**
 * The gateway's node flags in the unit (NODE_OPTIONS), exported so `bench/gateway-rss` measures
 * exactly what ships. A 1 MB young-generation semi-space removes the 114 MB RSS peak at start-up.
 */
export const UNIT_NODE_OPTIONS: readonly string[] = ['--max-semi-space-size=1'];

/**
 * Environment of the gateway process beyond NODE_OPTIONS. MALLOC_ARENA_MAX=1: glibc gives every
 * thread that mallocs an arena of its own, and node's V8 workers and libuv pool each kept 1.3-2 MB
 * of one resident (four arenas, ~6.5 MB, in a 16-slot gateway's /proc/PID/smaps). One arena
 * measured ~4 MB less RSS at no measurable CPU (docs/BENCH.md "gateway-rss", thirteenth stop).
 */
export const UNIT_ENVIRONMENT: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: '1' };

/** Paths systemd accepts in Exec lines without quoting or specifier expansion. */
export const SAFE_EXEC_PATH = /^\/[A-Za-z0-9._+@/-]+$/;

/**
 * A value as systemd reads it literally where it expands specifiers: DeviceAllow= does (%h, %n, …),
 * and "%%" is a literal "%". A device path may hold a "%" (attestation.tcti "device:PATH" is
 * checked for whitespace and control characters, not for it): unescaped, the unit allowed the
 * device the specifier expanded to instead of the one configured. Escaping keeps such a path
 * usable rather than refusing it.
 */
export function specifierLiteral(value: string): string {
  return value.replaceAll('%', '%%');
}

class UnitText {
  private readonly lines: string[] = [];
  section(name: string): this {
    if (this.lines.length > 0) this.lines.push('');
    this.lines.push(`[${name}]`);
    return this;
  }
  /** A comment (one or more lines) followed by its directive(s). */
  set(why: string | readonly string[], ...directives: string[]): this {
    for (const l of typeof why === 'string' ? [why] : why) this.lines.push(`# ${l}`);
    this.lines.push(...directives);
    return this;
  }
  raw(...lines: string[]): this {
    this.lines.push(...lines);
    return this;
  }
  toString(): string {
    return this.lines.join('\n') + '\n';
  }
}

export function renderUnit(i: UnitInput): string {
  const cli = `${i.node} ${CLI_ENTRY}`;
  const modprobe = i.devices.modules.map((m) => `modprobe@${m}.service`).join(' ');
  const u = new UnitText();
  u.raw(
    `# uzp-gateway.service: written by \`uzpgw flash --board ${i.board}\` (uzp-gateway ${i.swversion}).`,
    '# A reflash rewrites this file: put local changes in a drop-in (`systemctl edit uzp-gateway`).',
    '# Check the sandbox with `systemd-analyze security uzp-gateway`.',
  );

  u.section('Unit');
  u.set('What `systemctl status` shows.', 'Description=UZP zero-port edge gateway (serial, Modbus and MQTT equipment over outbound UZP sessions)');
  u.set(
    ['The gateway only dials out (to its Rendezvous Node); start once the network is configured so the', 'first attach does not fail on a missing route. It retries on its own if the RN is unreachable.'],
    'Wants=network-online.target',
    'After=network-online.target',
  );
  u.set(
    ['A Pi has no real-time clock: until NTP has set the time, Grants, PCerts and the RN Set Statement may',
     'look not yet valid or expired. Start after time-sync.target; systemd-time-wait-sync (with',
     'systemd-timesyncd) holds that target until the clock is synchronised. Wants= tolerates its absence.'],
    'Wants=time-sync.target systemd-time-wait-sync.service',
    'After=time-sync.target',
  );
  if (modprobe !== '') {
    u.set(
      ['DeviceAllow=char-<group> is resolved when the service starts, and a group exists only while its', 'driver is loaded: load the USB serial drivers first so adapters plugged in later are allowed.'],
      `Wants=${modprobe}`,
      `After=${modprobe}`,
    );
  }

  u.section('Service');
  u.set('Type=exec: systemd reports a start failure if node itself cannot be executed.', 'Type=exec');
  u.set(
    ['A dedicated system user (sysusers.d/uzp-gateway.conf) owns the identity key; never root.', 'dialout grants the serial ports (also set by sysusers; repeated here so the unit alone says so).'],
    `User=${SERVICE_USER}`,
    `Group=${SERVICE_USER}`,
    'SupplementaryGroups=dialout',
  );
  u.set(
    [`${STATE_DIR}, created by systemd and owned by the service user, 0700: the identity key, the`, 'enrollment request and the PCert live here. UMask keeps every file the gateway creates private.'],
    `StateDirectory=${SERVICE_USER}`,
    'StateDirectoryMode=0700',
    'UMask=0077',
  );
  u.set(
    ['First boot: create the identity key and the enrollment request if there is no key yet (the key', 'never leaves the device); a no-op once the key exists.'],
    `ExecStartPre=${cli} first-boot --config ${CONFIG_FILE}`,
  );
  u.set(
    ['Run the gateway; until the PCert, trust anchor and RN Set Statement are installed it waits (one', 'log line), then starts without a restart.'],
    `ExecStart=${cli} gateway --config ${CONFIG_FILE} --wait-enrollment`,
  );
  u.set(
    ['Measured (docs/BENCH.md "gateway-rss"): a 1 MB young-generation semi-space removes the 114 MB RSS',
     'peak at start-up; one malloc arena instead of one per thread keeps ~4 MB less resident.'],
    `Environment=NODE_OPTIONS=${UNIT_NODE_OPTIONS.join(' ')}`,
    ...Object.entries(UNIT_ENVIRONMENT).map(([k, v]) => `Environment=${k}=${v}`),
  );
  u.set('Come back after a crash or a fatal error (SIGTERM exits 0, so a stop is not restarted; a broken log stream exits 141, so it is).', 'Restart=on-failure', 'RestartSec=5');
  u.set('JSON log lines and audit lines go to the journal, tagged for `journalctl -t uzp-gateway`.', 'StandardOutput=journal', 'StandardError=journal', 'SyslogIdentifier=uzp-gateway');

  u.raw('', '# --- sandbox ---');
  u.set('No setuid/file-capability escalation, and no capabilities at all: the gateway needs none.', 'NoNewPrivileges=yes', 'CapabilityBoundingSet=');
  u.set(
    ['The whole filesystem is read-only except the state directory: the bundle, config, trust files and', 'reference manifest cannot be changed by the service they describe.'],
    'ProtectSystem=strict',
    `ReadWritePaths=${STATE_DIR}`,
  );
  // A unit line is parsed by systemd: whitespace separates paths, % starts a specifier, quotes and
  // backslashes escape, a newline starts a directive. Such a directory is refused, never written.
  if (i.auditDir !== undefined && /[\s%"'\\\0-\x1f\x7f]/.test(i.auditDir)) {
    throw new LocalError(CommonCode.CONFIG_INVALID, `audit.file: its directory ${JSON.stringify(i.auditDir)} cannot go into the systemd unit (whitespace, %, quotes, backslashes and control characters are refused); choose a plain path`);
  }
  // ReadWritePaths= opens the whole directory: / would undo ProtectSystem=strict, and the config's,
  // the bundle's or a system directory would let the service change what it is measured by.
  if (i.auditDir !== undefined && !ownAuditDir(i.auditDir)) {
    throw new LocalError(CommonCode.CONFIG_INVALID, `audit.file: its directory ${JSON.stringify(i.auditDir)} would be made writable for the service (ReadWritePaths=), and it is, or holds, or lies in ${PROTECTED_DIRS.join(', ')}; give the audit log a directory of its own, such as /var/log/uzp-gateway`);
  }
  if (i.auditDir !== undefined) u.set('The config writes its audit log here ("-": do not fail the start if it is missing; the gateway reports it).', `ReadWritePaths=-${i.auditDir}`);
  u.set('No access to /home, /root and /run/user: nothing there is the gateway\'s business.', 'ProtectHome=yes');
  u.set('A private /tmp, emptied when the service stops.', 'PrivateTmp=yes');
  u.set('No writing to /proc/sys and /sys, no module loading, no kernel log: none is needed to bridge equipment.', 'ProtectKernelTunables=yes', 'ProtectKernelModules=yes', 'ProtectKernelLogs=yes');
  u.set('cgroup tree read-only; the clock and the hostname cannot be changed.', 'ProtectControlGroups=yes', 'ProtectClock=yes', 'ProtectHostname=yes');
  u.set('No setuid/setgid files, realtime scheduling, new namespaces or personality changes.', 'RestrictSUIDSGID=yes', 'RestrictRealtime=yes', 'RestrictNamespaces=yes', 'LockPersonality=yes');
  u.set(
    ['Other users\' processes are invisible in /proc, mounts stay private, and SysV IPC objects go away', 'with the service. (Not ProcSubset=pid: the attestation reads /proc/device-tree/model.)'],
    'ProtectProc=invisible',
    'PrivateMounts=yes',
    'RemoveIPC=yes',
  );
  u.set(
    ['Deliberately off: V8\'s JIT writes and then executes code pages, so W^X enforcement', '(MemoryDenyWriteExecute=yes) makes node fail at start-up.'],
    'MemoryDenyWriteExecute=no',
  );
  u.set('Only the native system-call ABI (no 32-bit compat calls on a 64-bit kernel).', 'SystemCallArchitectures=native');
  u.set(
    [
      'AF_INET/AF_INET6: outbound TCP to the RN, Modbus TCP devices and MQTT brokers. AF_UNIX: journald',
      'and NSS lookups. AF_NETLINK: glibc getaddrinfo(AI_ADDRCONFIG) asks the kernel which address',
      'families are configured before resolving the RN host name.',
    ],
    'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX AF_NETLINK',
  );
  u.set(
    ['Zero-port: the kernel refuses bind() on any address and port, so even a compromised gateway cannot', 'listen. (Needs a systemd built with BPF_FRAMEWORK; elsewhere it is accepted and not enforced.)'],
    'SocketBindDeny=any',
  );
  u.set('No device nodes except the pseudo devices (/dev/null, /dev/urandom, ...) and those allowed below.', 'DevicePolicy=closed');
  for (const r of i.devices.rules) {
    // systemd reads a backslash or a quote in DeviceAllow= as an escape (newer versions) or literally
    // (older ones), so the rule would allow another path or none; "%" is escaped instead (above).
    if (/[\s"'\\\0-\x1f\x7f]/.test(r.spec)) {
      throw new LocalError(CommonCode.CONFIG_INVALID, `${r.why}: ${JSON.stringify(r.spec)} cannot go into the unit's DeviceAllow= (whitespace, quotes, backslashes and control characters are refused); name the device by a path without them, such as /dev/ttyUSB0 or its /dev/serial/by-path/ name`);
    }
    u.set(`${r.why}.`, `DeviceAllow=${specifierLiteral(r.spec)} rw`);
  }

  u.section('Install');
  u.set('`systemctl enable` (and flash) link it into the normal boot.', 'WantedBy=multi-user.target');
  return u.toString();
}

/** What the service must never be able to write, whatever the config says (ProtectSystem=strict keeps the rest read-only). */
const PROTECTED_DIRS = ['/etc', '/usr', '/boot', '/bin', '/sbin', '/lib', INSTALL_DIR, CONFIG_DIR] as const;

/** A directory that is neither a protected one, nor inside one, nor holds one (/ holds them all). */
function ownAuditDir(dir: string): boolean {
  const d = dir.replace(/\/+$/, '') || '/';
  return !PROTECTED_DIRS.some((p) => d === p || d.startsWith(p + '/') || p.startsWith(d === '/' ? '/' : d + '/'));
}
