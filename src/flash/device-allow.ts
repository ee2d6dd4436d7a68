// The DeviceAllow= lines of the unit: the serial devices the board's ports use, and the TPM.
// With DevicePolicy=closed the service reaches no other device node (beyond /dev/null & co.).
//
// A path rule is resolved to major:minor when the service starts (systemd skips, with a log line,
// a path that does not exist then), so it suits fixed UARTs. USB adapters come and go and their
// /dev/serial/by-id names are symlinks unknown at flash time, so USB globs become device-group
// rules (char-ttyUSB, char-ttyACM: every current and future device of that driver). A group is
// resolvable only while its driver is loaded, hence the modprobe@ units the unit pulls in.

import type { Board, GatewayConfig } from '../config/types.js';

interface DeviceRule {
  /** DeviceAllow= value without the access part: a /dev path or char-<group>. */
  readonly spec: string;
  readonly why: string;
}

export interface DevicePlan {
  readonly rules: readonly DeviceRule[];
  /** Kernel modules whose device groups the rules name (Wants=/After=modprobe@NAME.service). */
  readonly modules: readonly string[];
}

/** USB serial driver families: device-name prefix -> /proc/devices group and the module providing it. */
const USB_GROUPS = [
  { prefix: '/dev/ttyUSB', group: 'ttyUSB', module: 'usbserial', what: 'USB serial adapters (FTDI, CP210x, CH340, PL2303: /dev/ttyUSB*)' },
  { prefix: '/dev/ttyACM', group: 'ttyACM', module: 'cdc_acm', what: 'USB CDC-ACM devices (/dev/ttyACM*)' },
] as const;

/** Groups a device_glob needs: /dev/ttyUSB* -> ttyUSB; /dev/serial/by-id/* (either family) -> both. */
function groupsForGlob(glob: string): (typeof USB_GROUPS)[number][] {
  if (glob.startsWith('/dev/serial/')) return [...USB_GROUPS];
  return USB_GROUPS.filter((g) => glob.startsWith(g.prefix));
}

function coveredBy(path: string, groups: ReadonlySet<string>): boolean {
  return USB_GROUPS.some((g) => groups.has(g.group) && path.startsWith(g.prefix));
}

export function devicePlan(board: Board, config: GatewayConfig): DevicePlan {
  const groups = new Map<string, { module: string; what: string; ports: string[] }>();
  const paths = new Map<string, string>();
  let pts = false;
  for (const port of board.ports) {
    if (port.kind === 'net') continue;
    for (const glob of port.deviceGlob) {
      for (const g of groupsForGlob(glob)) {
        const hit = groups.get(g.group) ?? { module: g.module, what: g.what, ports: [] };
        if (!hit.ports.includes(port.id)) hit.ports.push(port.id);
        groups.set(g.group, hit);
      }
    }
    if (port.device?.startsWith('{virtual_dir}/') === true) pts = true;
    else if (port.device !== undefined && !paths.has(port.device)) paths.set(port.device, `serial port ${port.id} of board ${board.id}`);
    for (const a of port.aliases) if (!paths.has(a)) paths.set(a, `${a}, another name of port ${port.id} (a symlink; the rule applies to the device it points to at start)`);
  }
  // A slot's port_path is always under a port's device_glob, but name it explicitly if no group covers it.
  for (const s of config.slots) if (s.portPath !== undefined && !paths.has(s.portPath)) paths.set(s.portPath, `port_path of slot ${s.id}`);

  const groupNames = new Set(groups.keys());
  const rules: DeviceRule[] = [];
  for (const [path, why] of paths) if (!coveredBy(path, groupNames)) rules.push({ spec: path, why });
  for (const [group, g] of groups) {
    rules.push({ spec: `char-${group}`, why: `${g.what} on ports ${g.ports.join(', ')}: a group rule, since adapters come and go and by-id names are symlinks` });
  }
  if (pts) rules.push({ spec: 'char-pts', why: 'the virtual board: PTY links under virtual_dir' });

  const tpm = config.attestation.tpm;
  if (tpm !== 'off') {
    const tcti = config.attestation.tcti;
    const dev = tcti?.startsWith('device:') === true ? tcti.slice('device:'.length) : '/dev/tpmrm0';
    // Only a device TCTI touches a device node; swtpm/mssim/tabrmd talk over sockets.
    if (tcti === undefined || tcti.startsWith('device:')) rules.push({ spec: dev, why: `the TPM for attestation quotes (attestation.tpm ${tpm}); tpmrm is the kernel resource manager, safe to share with other TPM users` });
  }
  return { rules, modules: [...new Set([...groups.values()].map((g) => g.module))] };
}
