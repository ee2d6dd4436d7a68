// An RN Set Statement that lists one address under two entries (draft §11.1 names "multiple eligible
// alternate RNs": distinct RNs). The gateway attaches at an address only to the RN listed there
// (ATTACH_RN_MISMATCH, docs/PROFILE.md §RN link), so at a shared address (a load balancer, an anycast
// name) only the RN that happens to answer is taken, and the links meant for the other RNs are
// refused there and move on. Such a statement is not refused: one issued before `pantheon rn-set`
// refused them would stop every gateway of the domain at its next start. The gateway says so, once
// per adopted statement, with what to do.

import { toHex } from '../uzp/bytes.js';
import { repeatedRnAddress } from '../uzp/artefacts/rnset.js';
import type { RnSet } from '../uzp/artefacts/types.js';

/** Warns when `rnSet` (just installed, from `source`) lists an address under two RNs; true if it did. */
export function warnSharedRnAddress(log: { warn(obj: object, msg: string): void }, rnSet: RnSet, source: string): boolean {
  const r = repeatedRnAddress(rnSet.body.rns);
  if (r === undefined) return false;
  const rn = (i: number): string => toHex(rnSet.body.rns[i]!.publicKey);
  log.warn(
    { event: 'rn_set.shared_address', source, address: r.address, entries: [r.first, r.second], rns: [rn(r.first), rn(r.second)], epoch: rnSet.epoch, sequence: rnSet.sequence },
    `the RN Set Statement from ${source} lists ${r.address} under two RNs (rns[${r.first}] and rns[${r.second}]); this gateway attaches there only to the RN listed for the address it dials, so links meant for the other are refused there (ATTACH_RN_MISMATCH) and move on: issue a statement that gives each RN its own address (uzpgw pantheon rn-set)`,
  );
  return true;
}
