// The gateway command's signals (RunSignals, src/cli/gateway.ts), held for the whole run: a second
// SIGTERM or SIGINT, or a SIGHUP, while the gateway starts or stops finds a listener, so node's
// default action (ending the process before its last commit: exit 143 / 129) never applies; the
// first SIGTERM or SIGINT asks for the stop once; SIGHUP reloads once the gateway runs.
import { afterEach, describe, expect, it } from 'vitest';
import type { Logger } from 'pino';
import { RunSignals } from '../../src/cli/gateway.js';

const lines: { event?: string }[] = [];
const log = { info: (o: { event?: string }) => void lines.push(o), warn: (o: { event?: string }) => void lines.push(o) } as unknown as Logger;
let signals: RunSignals | undefined;
afterEach(() => {
  signals?.dispose();
  lines.length = 0;
});

describe('RunSignals', () => {
  it('listens from the start to the end of the run; a stop is asked once, later signals are logged', async () => {
    const before = ['SIGTERM', 'SIGINT', 'SIGHUP'].map((s) => process.listenerCount(s));
    signals = new RunSignals(log);
    expect(['SIGTERM', 'SIGINT', 'SIGHUP'].map((s) => process.listenerCount(s))).toEqual(before.map((n) => n + 1));
    // SIGHUP while starting: noted, no reload yet (the files are read as the gateway starts).
    process.emit('SIGHUP', 'SIGHUP');
    expect(lines.map((l) => l.event)).toEqual(['artefacts.reload_deferred']);
    let reloads = 0;
    signals.onReload(() => void reloads++);
    process.emit('SIGHUP', 'SIGHUP');
    expect(reloads).toBe(1);
    process.emit('SIGTERM', 'SIGTERM');
    await signals.stopped();
    // During the stop: still heard (before, SIGHUP's listener was gone and SIGTERM's was one-shot).
    process.emit('SIGTERM', 'SIGTERM');
    process.emit('SIGINT', 'SIGINT');
    process.emit('SIGHUP', 'SIGHUP');
    expect(reloads).toBe(1);
    expect(lines.map((l) => l.event)).toEqual(['artefacts.reload_deferred', 'gateway.signal_ignored', 'gateway.signal_ignored', 'artefacts.reload_deferred']);
    expect(['SIGTERM', 'SIGINT', 'SIGHUP'].map((s) => process.listenerCount(s))).toEqual(before.map((n) => n + 1));
    signals.dispose();
    signals = undefined;
    expect(['SIGTERM', 'SIGINT', 'SIGHUP'].map((s) => process.listenerCount(s))).toEqual(before);
  });
});
