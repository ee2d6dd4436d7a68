// --arch of `uzpgw flash` and `uzpgw runtime fetch`: the architecture of the pinned Node runtime.
// One check for both, so the same value is the same mistake everywhere: a value neither command can
// ever accept (no board, file or registry could change that) is a usage error, exit 2 (README,
// "Exit status"), where flash let `arm` through to a BOARD_ARCH_UNSUPPORTED refusal (exit 1).

import { isRuntimeArch, RUNTIME_ARCHES, type RuntimeArch } from '../flash/runtime.js';
import { usageError } from './flags.js';

/** The runtime `value` names; a usage error otherwise (32-bit ARM, which boards do run, with what to do instead). */
export function archFlag(value: string): RuntimeArch {
  if (isRuntimeArch(value)) return value;
  if (value === 'arm') throw usageError('--arch arm: Node 24 has no official build for 32-bit ARM; flash a 64-bit OS image and use --arch arm64');
  throw usageError(`--arch: expected ${RUNTIME_ARCHES.join(' or ')} (Node 24 has official Linux builds for those only), got ${JSON.stringify(value.slice(0, 20))}`);
}
