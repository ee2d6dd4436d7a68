// The config keys of durable telemetry (issue #12): "reading_log" (how the gateway keeps every
// reading: docs/CONFIG.md) and "publish" (the collectors it pushes them to, outbound, under a
// Pantheon Grant and a Discovery Grant it signed: OI §7-§11). Kept apart from gateway-schema.ts,
// which stays the file's outline.

import { DURABILITIES, type CollectorConfig, type PublishConfig, type ReadingLogConfig } from './types.js';
import type { Node, Obj } from './node.js';

const MIB = 1024 * 1024;
export const DEFAULT_BATCH_MS = 200;
export const DEFAULT_LOG_MAX_MB = 64;
const MAX_COLLECTORS = 8;
const CID_HEX = /^[0-9a-f]{64}$/;

type FileField = (n: Node, what: string, fix: string, mode?: 'file' | 'dir') => string;

/** "reading_log": {"file"?, "durability"?: full|batch|off, "batch_ms"?: 10..10000, "max_mb"?: 1..65536}. */
export function parseReadingLog(o: Obj, fileField: FileField): ReadingLogConfig {
  const rl = o.opt('reading_log', (x) => x.obj(['file', 'durability', 'batch_ms', 'max_mb'], 'an object {"file"?: FILE, "durability"?: "batch", "batch_ms"?: 200, "max_mb"?: 64}'));
  const file = rl?.opt('file', (x) => fileField(x, 'reading log', 'create the directory, or drop "file" to keep readings.db next to the identity key', 'dir'));
  return {
    ...(file !== undefined && file !== '' ? { file } : {}),
    durability: rl?.opt('durability', (x) => x.choice(DURABILITIES, ' (full: fsync per reading; batch: one commit every batch_ms; off: the OS decides)')) ?? 'batch',
    batchMs: rl?.opt('batch_ms', (x) => x.int(10, 10_000, 'milliseconds between commits in batch mode, 10..10000 (the loss window on a crash)')) ?? DEFAULT_BATCH_MS,
    maxBytes: (rl?.opt('max_mb', (x) => x.int(1, 65_536, 'the log bound in MiB, 1..65536 (past it the oldest readings are dropped and counted)')) ?? DEFAULT_LOG_MAX_MB) * MIB,
  };
}

/** "publish": {"collectors": [{"cid": HEX, "grant": FILE, "discovery_grant": FILE}], "revocations"?: FILE}. */
export function parsePublish(o: Obj, fileField: FileField): PublishConfig | undefined {
  const p = o.opt('publish', (x) => x.obj(['collectors', 'revocations'], 'an object {"collectors": [...], "revocations"?: FILE}'));
  if (p === undefined) return undefined;
  const seen = new Set<string>();
  const collectors: CollectorConfig[] = [];
  for (const n of p.req('collectors').list(1, MAX_COLLECTORS, `collectors (1..${MAX_COLLECTORS})`)) {
    const c = n.obj(['cid', 'grant', 'discovery_grant'], 'an object {"cid": HEX, "grant": FILE, "discovery_grant": FILE}');
    const hex = c.req('cid').text({ min: 64, max: 64, pattern: CID_HEX, what: "the collector's CID as 64 lowercase hex digits", fix: 'copy it from `uzpgw collector --config F --show-cid` (or `uzpgw pantheon show` of its PCert)' });
    if (hex !== '' && seen.has(hex)) continue; // listed twice: once is enough
    seen.add(hex);
    collectors.push({
      cid: Uint8Array.from(Buffer.from(hex, 'hex')),
      grant: fileField(c.req('grant'), 'Pantheon Grant to reach the collector', 'have the domain admin issue it: `uzpgw pantheon grant --subject GATEWAY --audience COLLECTOR --slot S --purpose telemetry.publish`'),
      discoveryGrant: fileField(c.req('discovery_grant'), 'Discovery Grant', 'sign it with the gateway key: `uzpgw publish grant --config F --collector CID --slot S --out FILE` (--slot repeatable, or \'*\' for every slot)'),
    });
  }
  const revocations = p.opt('revocations', (x) => fileField(x, 'discovery revocations', 'create the directory; `uzpgw publish revoke` writes the file', 'dir'));
  return { collectors, ...(revocations !== undefined && revocations !== '' ? { revocations } : {}) };
}
