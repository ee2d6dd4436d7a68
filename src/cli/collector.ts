// `uzpgw collector --config F`: runs a collector (the outbound-indexing Indexer, issue #12): it
// attaches outbound to RNs like the gateway, accepts the sessions gateways open to publish, stores
// every reading once into SQLite or PostgreSQL and signs a receipt per window. `uzpgw collector
// query` reads what it stored, as a table, JSON lines or CSV.

import { pino } from 'pino';
import { loadCollectorConfig } from '../collector/config.js';
import { CollectorConsole } from '../collector/console-source.js';
import { ObservedStore } from '../collector/store/observed.js';
import type { ConsoleServer } from '../console/server.js';
import { Collector } from '../collector/collector.js';
import { openStore } from '../collector/store/open.js';
import type { StreamQuery } from '../collector/store/store.js';
import { printReadings } from './collector-print.js';
import { toHex } from '../uzp/bytes.js';
import { loadKeyFile } from '../files/keyfile.js';
import { nodeProvider } from '../uzp/crypto/node.js';
import { defineCommand, defineGroup } from './define.js';
import { cidFlag, usageError } from './flags.js';
import { LOG_LEVEL_FLAG } from './log-level.js';
import { prepareConsole, startConsole, UI_TLS_FLAGS, type ConsoleFlagValues } from './console-serve.js';
import { logDestination } from '../lib/log-destination.js';
import { stopWhenLogClosed } from './output-closed.js';

const DB_FLAG = { db: { type: 'string', placeholder: 'FILE|URL', describe: 'the database: a SQLite file, or postgres://user@host:port/db (overrides the config\'s "db")' } } as const;

interface UiOptions extends ConsoleFlagValues {
  readonly ui?: string | undefined;
}

async function run(configFile: string, db: string | undefined, level: string, ui: UiOptions): Promise<number> {
  // The console's address and files are checked before anything else is read or opened: a bad
  // --ui is a usage error whatever the config holds.
  const prepared = ui.ui !== undefined ? prepareConsole(ui.ui, '--ui', ui, false) : undefined;
  const logger = pino({ base: null, level, timestamp: pino.stdTimeFunctions.isoTime }, logDestination(1, 'collector log'));
  const config = loadCollectorConfig(configFile);
  const store = new ObservedStore(await openStore(db ?? config.db, { logger }));
  let collector: Collector;
  let source: CollectorConsole | undefined;
  let server: ConsoleServer | undefined;
  try {
    collector = await Collector.create({ config, store, logger, onSessions: () => source?.sessionsChanged() });
    if (prepared !== undefined) {
      const c = collector;
      source = await CollectorConsole.open(store, () => c.liveGateways());
      server = await startConsole(prepared, source, (e, path) => logger.error({ event: 'console.failed', path, reason: (e as Error)?.message ?? String(e) }, 'a console request failed'));
      logger.info({ event: 'console.listening', url: server.address }, `web console at ${server.address}`);
    }
  } catch (e) {
    source?.close();
    await store.close();
    throw e;
  }
  collector.start();
  // stdout's reader gone (the log goes nowhere) stops it the same way; exit 141 (output-closed.ts).
  let unwatchOutput = (): void => {};
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
    unwatchOutput = stopWhenLogClosed('collector', resolve);
  });
  unwatchOutput();
  await server?.close();
  source?.close();
  await collector.stop();
  return 0;
}

const SUMMARY = 'run a collector: store what gateways publish (outbound only; never listens)';
const DESCRIPTION =
  'Runs a collector (the Indexer of the outbound-indexing draft): attaches outbound to the RNs of its RN Set Statement, accepts the sessions gateways open to publish under a Grant with purpose telemetry.publish, checks each Discovery Grant (issued by that gateway, addressed to this collector, valid, not revoked, allowing the purposes this collector processes for), stores every reading exactly once by (gateway, slot, epoch, seq) into SQLite (default) or PostgreSQL, and answers each window with a signed receipt once it is committed. With --ui it also serves the web console (fleet, gateways, slot history with live plots, audit trail) on that address: loopback by default; another address only over HTTPS with a token. SIGTERM/SIGINT stop it (exit 0); so does the reader of stdout going away (its log: exit 141). --show-cid prints its CID (what a gateway config names under "publish") and exits.';

const main = defineCommand({
  name: 'collector',
  summary: SUMMARY,
  description: DESCRIPTION,
  flags: {
    config: { type: 'string', placeholder: 'FILE', required: true, describe: 'collector config file (JSON; see docs/COLLECTOR.md)' },
    ...DB_FLAG,
    'show-cid': { type: 'boolean', describe: "print this collector's CID and exit" },
    ui: { type: 'string', placeholder: 'HOST:PORT', describe: 'also serve the web console there (loopback; anything else needs the --ui-tls-* flags and --ui-token-file; docs/CONSOLE.md)' },
    ...UI_TLS_FLAGS,
    ...LOG_LEVEL_FLAG,
  },
  json: 'stdout is JSON lines (pino log records); with --show-cid: {"cid": HEX}',
  async run({ flags }, io) {
    if (flags['show-cid']) {
      const cid = toHex(loadKeyFile(nodeProvider, loadCollectorConfig(flags.config).identity.key).cid);
      io.stdout.write(flags.json ? JSON.stringify({ cid }) + '\n' : `${cid}\n`);
      return 0;
    }
    return run(flags.config, flags.db, flags['log-level'], flags);
  },
});

/** "2026-12-05T10:00:00Z", a Unix ms number, or an age such as 90s, 15m, 2h, 7d (before now). */
function parseTime(text: string, flag: string, nowMs: number): number {
  const age = /^(\d{1,9})(s|m|h|d)$/.exec(text);
  if (age !== null) return nowMs - Number(age[1]) * { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3 }[age[2] as 's' | 'm' | 'h' | 'd'];
  if (/^\d{1,15}$/.test(text)) return Number(text);
  const t = Date.parse(text);
  if (!Number.isFinite(t)) throw usageError(`--${flag}: expected an ISO time (2026-12-05T10:00:00Z), Unix ms, or an age such as 15m, 2h, 7d; got ${JSON.stringify(text.slice(0, 64))}`);
  return t;
}

const query = defineCommand({
  name: 'collector query',
  summary: 'print stored readings (table, --json lines or --csv)',
  description: 'Reads the readings a collector stored, ordered by gateway, slot, epoch and seq. The database is the one --db names, else the one the collector config names; a SQLite file must exist (it is opened read-only, never created).',
  flags: {
    config: { type: 'string', placeholder: 'FILE', describe: 'collector config file (for its "db")' },
    ...DB_FLAG,
    gateway: { type: 'string', placeholder: 'CID', describe: "only this gateway's readings (64 hex digits)" },
    slot: { type: 'string', placeholder: 'SLOT', describe: 'only this slot' },
    since: { type: 'string', placeholder: 'TIME', describe: 'readings stamped at or after TIME (ISO time, Unix ms, or an age: 15m, 2h, 7d)' },
    until: { type: 'string', placeholder: 'TIME', describe: 'readings stamped before TIME' },
    limit: { type: 'int', placeholder: 'N', min: 1, max: 1_000_000, default: 10_000, describe: 'at most N readings' },
    csv: { type: 'boolean', describe: 'CSV with a header line instead of a table' },
  },
  json: 'one JSON object per reading: {gateway, slot, device, kind, epoch, seq, ts, value}; value_hex (hex) instead of value for a value that is a byte string, and byte strings inside value as hex under their key with _hex added (as connect tail prints them)',
  async run({ flags }, io) {
    if (flags.json && flags.csv) throw usageError('give --json or --csv, not both');
    if (flags.db === undefined && flags.config === undefined) throw usageError('give --db FILE|URL or --config FILE');
    // The query's flags before the config is read: a bad one is a usage error whatever the file holds.
    const now = Date.now();
    const q: StreamQuery = {
      ...(flags.gateway !== undefined ? { gateway: cidFlag(flags.gateway, 'gateway') } : {}),
      ...(flags.slot !== undefined ? { slot: flags.slot } : {}),
      ...(flags.since !== undefined ? { sinceMs: parseTime(flags.since, 'since', now) } : {}),
      ...(flags.until !== undefined ? { untilMs: parseTime(flags.until, 'until', now) } : {}),
    };
    const spec = flags.db ?? loadCollectorConfig(flags.config!).db;
    // Read-only: a mistyped --db must fail, not become a new empty database that answers nothing.
    const store = await openStore(spec, { readOnly: true });
    try {
      await printReadings(store.stream(q), io.stdout, io.stderr, flags.json ? 'json' : flags.csv ? 'csv' : 'table', flags.limit);
    } finally {
      await store.close();
    }
    return 0;
  },
});

export const command = defineGroup({
  name: 'collector',
  summary: SUMMARY,
  description: DESCRIPTION,
  default: main,
  subcommands: [query],
});
