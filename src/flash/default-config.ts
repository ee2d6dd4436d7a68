// The config flash writes when the installer gives none: a gateway that starts on the board as
// soon as it is enrolled, with one serial-raw slot on the board's first serial slot (raw bytes are
// the one driver that needs no knowledge of the equipment). Installers edit it, or flash --config.
//
// Paths: the identity key and PCert live in the service's StateDirectory (/var/lib/uzp-gateway,
// the only place the unit may write, so first-boot can create the key there). The trust files
// are relative, i.e. next to the config in /etc/uzp-gateway/trust/, named as CONFIG.md and
// `uzpgw pantheon init` / `rn-set` name them; relative paths also keep the config digest the same
// whether the config is read on the device or from the mounted image.

import type { Board, BoardPort, BoardSlot } from '../config/types.js';
import { STATE_DIR } from './layout.js';
import { CommonCode, LocalError } from '../lib/errors.js';

const DEFAULT_IDENTITY_KEY = `${STATE_DIR}/identity.key`;
const DEFAULT_PCERT = `${STATE_DIR}/identity.pcert`;
const DEFAULT_TRUST_ANCHOR = 'trust/trust.json';
const DEFAULT_RN_SET = 'trust/rn-set.uzp';
/** Where the virtual board's PTY links are expected (only used with --board virtual). */
const DEFAULT_VIRTUAL_DIR = `${STATE_DIR}/pty`;
/** The most common factory setting of serial equipment; every shipped port supports it. */
const DEFAULT_BAUD = 9600;

function firstSerialSlot(board: Board): { slot: BoardSlot; port: BoardPort } | undefined {
  for (const slot of board.slots) {
    const port = board.ports.find((p) => p.id === slot.port);
    // A port without a fixed device needs a port_path only the installer can know (a USB serial number).
    if (port === undefined || port.kind === 'net' || port.device === undefined) continue;
    if (slot.kinds.includes('serial-raw')) return { slot, port };
  }
  return undefined;
}

/** The default config text for `board` (validated by the caller against the installed boards). */
export function defaultConfigText(board: Board): string {
  const hit = firstSerialSlot(board);
  if (hit === undefined) {
    throw new LocalError(CommonCode.CONFIG_INVALID, `board ${board.id} has no serial slot with a fixed device for a default config; write one (docs/CONFIG.md) and pass it with --config`);
  }
  const baud = hit.port.bauds.includes(DEFAULT_BAUD) ? DEFAULT_BAUD : hit.port.bauds[0];
  const config = {
    kind: 'uzp-gw/gateway-config',
    identity: { key: DEFAULT_IDENTITY_KEY, pcert: DEFAULT_PCERT },
    trust: { anchor: DEFAULT_TRUST_ANCHOR, rn_set: DEFAULT_RN_SET },
    board: board.id,
    ...(board.id === 'virtual' || hit.port.device?.startsWith('{virtual_dir}/') === true ? { virtual_dir: DEFAULT_VIRTUAL_DIR } : {}),
    audit: { level: 'info' },
    slots: {
      [hit.slot.id]: {
        label: 'default slot written by uzpgw flash: set the device to match the equipment',
        device: { id: 'serial-1', driver: 'serial-raw', serial: { baud } },
      },
    },
  };
  return JSON.stringify(config, null, 2) + '\n';
}
