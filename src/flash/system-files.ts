// sysusers.d and tmpfiles.d entries: the system user the unit runs as, and its state directory.
// Declarative files rather than useradd in the image: systemd-sysusers creates the user on the
// device itself (its own uid range, its own /etc/passwd), which flashing from another machine
// could not do correctly.

import { SERVICE_USER, STATE_DIR } from './layout.js';

interface SysusersInput {
  /** Add the user to tss, the group the tpm2 udev rules give /dev/tpmrm0 to. */
  readonly tpm: boolean;
}

export function renderSysusers(i: SysusersInput): string {
  const lines = [
    '# uzp-gateway: the gateway service user (written by uzpgw flash; see sysusers.d(5)).',
    '# A system user with its state directory as home and no login shell.',
    `u ${SERVICE_USER} - "UZP gateway" ${STATE_DIR}`,
    '# dialout owns the serial ports (/dev/ttyAMA*, /dev/ttyS*, /dev/ttyUSB*, /dev/ttyACM*).',
    `m ${SERVICE_USER} dialout`,
  ];
  if (i.tpm) lines.push('# tss owns /dev/tpmrm0 (tpm-udev rules) for the attestation quote; created if missing.', `m ${SERVICE_USER} tss`);
  return lines.join('\n') + '\n';
}

export function renderTmpfiles(): string {
  return [
    '# uzp-gateway: the state directory (written by uzpgw flash; see tmpfiles.d(5)).',
    '# Only the service user may read it: it holds the identity key. StateDirectory= in the unit',
    '# creates it too; this entry makes it exist (and fixes its mode) even before the first start.',
    `d ${STATE_DIR} 0700 ${SERVICE_USER} ${SERVICE_USER} -`,
  ].join('\n') + '\n';
}
