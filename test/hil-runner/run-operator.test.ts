// The run's operator (src/hil-runner/run-operator.ts) against a real RN and gateway (dist/) on
// virtual equipment (real socat PTYs): a (re)connect whose tails cannot all be opened must not
// hand out the session without them. Before, connect() kept the session it had brought up when a
// tail failed after it, so the next step got that session and its expectations silently saw no
// readings from the slot. Here the Grant is rewritten without serial.read on tty-2 (the gateway
// refuses that tail) and the session ended, so the operator connects again. And a session in its
// graceful close (close() called, its CLOSE not yet acknowledged) is not handed out: before, the
// next step got it and failed with "session is closed" instead of the operator connecting again.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkConfigText } from '../../src/config/index.js';
import { createDomain, FILES, issueGrant, issueRnSet } from '../../src/hil-runner/domain.js';
import { startEquipment, type RunningEquipment } from '../../src/hil-runner/equipment.js';
import { ReadingStore } from '../../src/hil-runner/reading-store.js';
import { remapConfig } from '../../src/hil-runner/remap.js';
import { RunOperator } from '../../src/hil-runner/run-operator.js';
import type { Step } from '../../src/hil-runner/scenario.js';
import { runStep, type RunContext } from '../../src/hil-runner/steps.js';
import { nodeProvider as provider } from '../../src/uzp/crypto/node.js';
import { spawnCli, stopAll, waitForJsonLine, type Child } from '../helpers/processes.js';

const dir = mkdtempSync(join(tmpdir(), 'uzpgw-run-operator-'));
let eq: RunningEquipment | undefined;
let op: RunOperator;

afterAll(async () => {
  op?.close();
  await stopAll();
  await eq?.close();
  rmSync(dir, { recursive: true, force: true });
});

const CONFIG = {
  kind: 'uzp-gw/gateway-config',
  name: 'run-operator-test',
  identity: { key: 'k', pcert: 'p' },
  trust: { anchor: 't', rn_set: 'r' },
  board: 'virtual',
  virtual_dir: 'pty',
  slots: {
    'tty-1': { device: { id: 'sensor-1', driver: 'serial-line', serial: { baud: 115200 } } },
    'tty-2': { device: { id: 'sensor-2', driver: 'serial-line', serial: { baud: 115200 } } },
  },
};
const SLOTS = ['tty-1', 'tty-2'];
const ALL = ['tty-1/serial.read', 'tty-1/serial.write', 'tty-2/serial.read'];

/** 'a session', or the error's message: what a step would get. */
function outcome(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => 'a session',
    (e: Error) => e.message,
  );
}

/** Resolves once `slot` has a reading after `after` of them (a hang guard of `ms`). */
async function readingAfter(store: ReadingStore, slot: string, after: number, ms: number): Promise<boolean> {
  const t0 = Date.now();
  while (store.readings(slot).length <= after && Date.now() - t0 < ms) await store.next(slot, 500);
  return store.readings(slot).length > after;
}

let gw: Child;
let grant: (purposes: readonly string[]) => string;
let store: ReadingStore;
let ctx: RunContext;

beforeAll(async () => {
  const text = JSON.stringify(CONFIG);
  const configFile = join(dir, 'gateway.json');
  writeFileSync(configFile, text);
  const checked = checkConfigText(text, configFile, { checkFiles: false });
  const domain = createDomain(provider, dir, Date.now());
  const ptyDir = join(dir, 'pty');
  mkdirSync(ptyDir);
  eq = await startEquipment(checked.config!, ptyDir, { intervalMs: 100 });
  const rn = spawnCli(['rn', '--listen', '127.0.0.1:0', '--trust', join(dir, FILES.trust), '--key', join(dir, FILES.rnKey), '--log-level', 'warn']);
  const listening = await waitForJsonLine(rn, (v) => v.event === 'listening');
  issueRnSet(provider, domain, String(listening.address), Date.now());
  const remapped = remapConfig({ text, config: checked.config!, board: checked.board!, runDir: dir, ptyDir });
  gw = spawnCli(['gateway', '--config', remapped.configFile, '--log-level', 'info']);
  await waitForJsonLine(gw, (v) => v.event === 'rn.attached');

  grant = (purposes: readonly string[]): string => issueGrant(provider, domain, { name: 'operator-all', purposes, slots: SLOTS, nowMs: Date.now() });
  store = new ReadingStore();
  op = new RunOperator(provider, domain, SLOTS, () => grant(ALL), store);
  const operator = op;
  // What run.ts gives a step; the broker and RN faults are not part of these cases.
  const notHere = (): Promise<void> => Promise.reject(new Error('not part of this test'));
  ctx = {
    config: checked.config!,
    equipment: new Map(eq.slots.map((s) => [s.plan.slot, s])),
    store,
    keepUp: () => operator.keepUp(),
    whyNotTailed: (slot) => operator.whyNotTailed(slot),
    session: () => operator.session(),
    restrictedSession: (slot, purposes) => operator.restrictedSession(slot, purposes, Date.now()),
    restartBroker: notHere,
    killRn: notHere,
  };
}, 60_000);

describe('RunOperator', () => {
  it('a reconnect whose tail is refused closes the session and fails each time, and recovers once the tail opens', async () => {
    // Both tails up: readings arrive from both slots.
    const first = await op.session();
    expect(await readingAfter(store, 'tty-2', 0, 20_000)).toBe(true);

    // The same Grant file, rewritten without serial.read on tty-2; the session ends.
    grant(['tty-1/serial.read', 'tty-2/serial.write']);
    const ended = new Promise((r) => first.once('close', r));
    first.close();
    await ended;
    expect(await outcome(op.session())).toMatch(/could not open its tail on tty-2.*PURPOSE_NOT_GRANTED/s);
    // Not the session without its tty-2 tail: asked again, it connects again and fails again.
    expect(await outcome(op.session())).toMatch(/tail on tty-2/);
    // Each session that came up without its tty-2 tail was closed: the gateway's audit says so.
    const audited = (action: string): number => gw.stdout().split('\n').filter((l) => l.includes(`"action":"${action}"`)).length;
    const t0 = Date.now();
    while (audited('session.close') < audited('session') && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 50));
    expect([audited('session'), audited('session.close')]).toEqual([3, 3]);
    // What an expectation on a tailed slot that saw too little says (every tail went down with the session).
    for (const slot of SLOTS) expect(op.whyNotTailed(slot)).toMatch(/tail on tty-2/);

    // The tail can be opened again: the next use connects with both tails.
    grant(ALL);
    const again = await op.session();
    expect(again).not.toBe(first);
    expect(again.state).not.toBe('closed');
    expect(op.whyNotTailed('tty-2')).toBeUndefined();
    expect(await readingAfter(store, 'tty-2', store.readings('tty-2').length, 20_000)).toBe(true);
  }, 60_000);

  it('a session in its graceful close is not handed out: the next step connects again and is carried out', async () => {
    grant(ALL); // whatever the case before left in the Grant file
    const closing = await op.session();
    closing.close();
    // Begun, not ended: the close waits for the gateway to acknowledge the CLOSE.
    expect([closing.state, closing.isClosing]).toEqual(['stitched', true]);
    const write: Step = { index: 1, kind: 'expect', e: { expect: 'action', slot: 'tty-1', action: { do: 'serial.write', text: 'hello\n', echo: false }, outcome: { ok: true } } };
    const r = await runStep(write, ctx);
    expect([r.ok, r.error, r.message]).toEqual([true, undefined, 'serial.write on tty-1: ok (no refusal within 1000 ms)']);
    const next = await op.session();
    expect(next).not.toBe(closing);
    expect([next.state, next.isClosing]).toEqual(['stitched', false]);
    // With its tails: readings keep arriving from both slots.
    for (const slot of SLOTS) expect(await readingAfter(store, slot, store.readings(slot).length, 20_000)).toBe(true);
  }, 60_000);
});
