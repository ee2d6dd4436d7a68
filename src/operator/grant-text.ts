// The operator's own Grant, told back to them (issue #10, "errors that say why"). The gateway answers
// a refusal with a code only — a peer never learns the gateway's reasons (docs/PROFILE.md §HIL) — but
// the operator holds the Grant it presented, so the CLI can put what that Grant covers next to what
// was asked: "your Grant covers tty-1, net-1; you asked for rs485-1".

import { formatPurpose, purposesOpening } from '../hil/purposes.js';
import type { Mode } from '../hil/messages.js';
import { isoSeconds } from '../lib/time-text.js';
import { DEFAULT_SESSIONS_PER_OPERATOR, REFUSALS_PER_S } from '../hil/limits.js';
import type { GrantBody, GrantScope } from '../uzp/artefacts/types.js';

/** The mode words of `uzpgw connect` per HIL mode. */
const MODE_WORD: Readonly<Record<Mode, string>> = { tail: 'tail', modbus: 'modbus-tcp', serial: 'serial', mqtt: 'mqtt', diag: 'diag' };

function slotsText(g: GrantBody): string {
  return g.scopes.map((s) => s.slot).join(', ') || 'no slot';
}

function purposesText(s: GrantScope): string {
  return s.purposes.map(formatPurpose).join(', ');
}

/** The modes the purposes of `s` can open (on a device of the right kind). */
export function modesFor(s: GrantScope): string[] {
  return (Object.keys(MODE_WORD) as Mode[]).filter((m) => purposesOpening(m).some((p) => s.purposes.some((x) => x.purpose === p))).map((m) => MODE_WORD[m]);
}

/** Why a slot or mode cannot be used under this Grant, before any network; undefined when it can. */
export function grantDoesNotCover(g: GrantBody, slot: string, mode: Mode | undefined): string | undefined {
  const scope = g.scopes.find((s) => s.slot === slot);
  if (scope === undefined) return `your Grant covers ${slotsText(g)}; you asked for ${slot}`;
  if (mode === undefined) return undefined;
  const opening = purposesOpening(mode);
  if (scope.purposes.some((p) => opening.includes(p.purpose as never))) return undefined;
  return `your Grant gives ${slot}: ${purposesText(scope)}, which opens ${modesFor(scope).join(', ') || 'no mode'}; ${MODE_WORD[mode]} needs ${opening.join(' or ')}`;
}

/** A gateway refusal `code` explained with the Grant held for `slot`. */
export function explainRefusal(code: string, g: GrantBody, slot: string, bridged?: readonly string[]): string {
  const scope = g.scopes.find((s) => s.slot === slot);
  const covers = scope !== undefined ? `your Grant for ${slot}: ${purposesText(scope)}` : `your Grant covers ${slotsText(g)}, not ${slot}`;
  switch (code) {
    case 'SLOT_NOT_GRANTED':
      return scope === undefined ? `your Grant covers ${slotsText(g)}; you asked for ${slot}` : `the gateway has no slot ${slot} (your Grant names it, so check the slot id with the gateway's admin)`;
    case 'DEVICE_NOT_GRANTED':
      return `your Grant pins ${slot} to device ${scope?.device ?? '?'}; the slot now holds another device`;
    case 'PURPOSE_NOT_GRANTED':
      return `not among the purposes of ${covers}`;
    case 'UNIT_NOT_GRANTED':
    case 'REGISTER_OUT_OF_RANGE':
      return `outside ${covers} (units, tables and address ranges)`;
    case 'TOPIC_OUT_OF_FILTER':
      return `outside the topic filters of ${covers}`;
    case 'BAD_TOPIC':
      return 'not a valid MQTT topic (filters: + a whole level, # the whole last level; names: no wildcards)';
    case 'TOPIC_NOT_BRIDGED':
      return bridged !== undefined
        ? `topic not bridged on ${slot}; bridged: ${bridged.join(', ') || 'none'}`
        : `the gateway does not bridge that topic on ${slot} (its config's subscribe/publish filters decide; ask the gateway's admin)`;
    case 'MODE_NOT_SUPPORTED':
      return `the device on ${slot} cannot serve this mode; ${scope !== undefined ? `your Grant opens ${modesFor(scope).join(', ')}` : ''}`.replace(/; $/, '');
    case 'DEVICE_UNAVAILABLE':
      return `the device on ${slot} is unavailable (its port is down: unplugged, missing or not openable); \`uzpgw status\` on the gateway says why`;
    case 'SLOT_UNAVAILABLE':
      return `slot ${slot} is not serving right now`;
    case 'BUSY':
      return 'the gateway has too many requests of this channel in flight; retry';
    case 'TOO_MANY_SUBSCRIPTIONS':
      return 'a channel holds at most 64 subscriptions';
    case 'ILLEGAL_REQUEST':
      return explainIllegalRequest(undefined);
    case 'TOO_MANY_SESSIONS':
      return `your operator identity already holds as many sessions at this gateway as it allows (its config's sessions.per_operator, ${DEFAULT_SESSIONS_PER_OPERATOR} by default): end one of them (another \`uzpgw connect\`, a console) and connect again, or open fewer sessions (\`uzpgw connect … ui\` opens every slot of your Grant on one)`;
    default:
      return `refused by the gateway (${code})`;
  }
}

/**
 * Why the gateway ended a session the operator did not end, from its CLOSE reason, with what to do.
 * The gateway sends the code of its `session.end` audit line in words ("grant expired", "revoked",
 * "too many refusals": docs/PROFILE.md §HIL "Authority", "Refusal budget"), and no reason when it
 * stops. `expiresAt`: the Grant's, Unix seconds.
 */
export function explainSessionEnd(reason: string, expiresAt: number): string {
  const exp = isoSeconds(expiresAt * 1000);
  switch (reason.toUpperCase().replaceAll(' ', '_')) {
    case 'GRANT_EXPIRED':
      return `your Grant expired (${exp}): connect again with a fresh Grant`;
    case 'REVOKED':
      return "your Grant or your operator identity was revoked: the gateway's audit log (its session.end line) says which; ask the gateway's admin";
    case 'TOO_MANY_REFUSALS':
      return `your sessions at this gateway went past their budget of refused and malformed messages (${REFUSALS_PER_S} a second for all of them together: docs/PROFILE.md §HIL "Refusal budget"), and this one was refused once more; another of your tools connected to this gateway with the same identity may have spent it: find the one sending requests your Grant does not allow, then connect again (the budget refills within a second)`;
    default:
      return `it stopped, or ended it for a reason it did not say: check your Grant's expiry (${exp}) and the gateway's audit log (ask the gateway's admin), then connect again`;
  }
}

/**
 * ILLEGAL_REQUEST told by the exception the gateway put in `res` (docs/PROFILE.md "Exceptions with
 * ILLEGAL_REQUEST"): not only a function it does not pass, but a malformed request or a unit the
 * slot does not address. `exception` undefined: no `res` to read it from.
 */
export function explainIllegalRequest(exception: number | undefined): string {
  switch (exception) {
    case 0x01:
      return 'the gateway does not pass this Modbus request: a function other than 1-6, 15, 16, 23 and 43/14, or a read to unit 0 (the broadcast address of a serial line)';
    case 0x02:
      return "the request's address range runs past 65535";
    case 0x03:
      return "a malformed Modbus request: a quantity outside the function's limit (e.g. 1..125 registers per read), a length or byte count that does not match it, or a coil value other than ff00 or 0000";
    case 0x0a:
      return 'the slot does not address that unit: units 248-255 are reserved on a serial line, and unit 0 (a broadcast to every slave) is off on this slot (its "tcp_unit_0" is "refuse": ask the gateway\'s admin)';
    default:
      return 'a Modbus request the gateway does not pass: a function other than 1-6, 15, 16, 23 and 43/14, a malformed request, or a unit the slot does not address';
  }
}
