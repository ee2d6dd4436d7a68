// A valid gateway config for the virtual board (the one docs/CONFIG.md shows for the demo), the
// files it names, and helpers to run the checker on a modified copy.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { checkConfigText, type CheckResult, type ConfigIssue } from '../../src/config/index.js';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [k: string]: JsonValue };

export function virtualConfig(): { [k: string]: JsonValue } {
  return {
    kind: 'uzp-gw/gateway-config',
    name: 'demo-gw',
    identity: { key: 'keys/gateway.key', pcert: 'keys/gateway.pcert' },
    trust: { anchor: 'trust/trust.json', rn_set: 'trust/rn-set.uzp', revocations: ['trust/revocations.uzp'] },
    board: 'virtual',
    virtual_dir: 'pty',
    audit: { file: 'log/audit.jsonl', level: 'info' },
    device_profiles: {
      'acme-th20': {
        manufacturer: 'ACME',
        model: 'TH-20',
        poll_interval_ms: 2000,
        registers: [
          { name: 'temperature', table: 'input', address: 0, type: 'int16', scale: 0.1, unit: '°C' },
          { name: 'humidity', table: 'input', address: 1, type: 'uint16', scale: 0.1, unit: '%' },
          { name: 'setpoint', table: 'holding', address: 10, type: 'int16', scale: 0.1, unit: '°C' },
          { name: 'alarm', table: 'coils', address: 0, poll_interval_ms: 500 },
        ],
      },
    },
    slots: {
      'rs485-1': {
        device: {
          id: 'th-bus-1',
          driver: 'modbus-poller',
          serial: { baud: 19200, parity: 'even' },
          timeout_ms: 200,
          units: [
            { unit: 1, profile: 'acme-th20' },
            { unit: 2, profile: 'acme-th20', poll_interval_ms: 5000 },
            { unit: 7, name: 'meter', registers: [{ name: 'energy', table: 'holding', address: 100, type: 'uint32', word_order: 'little', unit: 'Wh' }] },
          ],
        },
      },
      'tty-1': { device: { id: 'sensor-7', driver: 'serial-line', serial: { baud: 9600 }, delimiter: '\r\n', max_line_bytes: 256 } },
      'tty-2': { device: { id: 'scale-3', driver: 'serial-raw', serial: { baud: 115200 } } },
      'net-1': {
        device: { id: 'press-2', driver: 'mqtt-bridge', broker: 'mqtt://127.0.0.1:1883', subscribe: ['plant/press-2/#'], publish: ['plant/press-2/cmd/#'], qos: 1 },
      },
    },
  };
}

/** A temporary directory holding the files a config names (contents are irrelevant to the checker). */
export class ConfigDir {
  readonly dir = mkdtempSync(join(tmpdir(), 'uzp-config-'));
  constructor(files: readonly string[] = ['keys/gateway.key', 'keys/gateway.pcert', 'trust/trust.json', 'trust/rn-set.uzp', 'trust/revocations.uzp', 'log/.keep']) {
    for (const f of files) this.touch(f);
  }
  touch(f: string): string {
    const p = join(this.dir, f);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, 'x');
    return p;
  }
  write(name: string, value: unknown): string {
    const p = join(this.dir, name);
    writeFileSync(p, typeof value === 'string' ? value : JSON.stringify(value, null, 2));
    return p;
  }
  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Checks a config value as if it were `gw.json` in `dir` (files not checked unless asked). */
export function check(cfg: unknown, opts: { dir?: string; checkFiles?: boolean } = {}): CheckResult {
  const text = typeof cfg === 'string' ? cfg : JSON.stringify(cfg, null, 2);
  return checkConfigText(text, join(opts.dir ?? '/nonexistent-config-dir', 'gw.json'), { checkFiles: opts.checkFiles ?? false });
}

export function errors(r: CheckResult): ConfigIssue[] {
  return r.issues.filter((i) => i.severity === 'error');
}

/** Deep copy with one change applied. */
export function edit(f: (c: any) => void, base: () => { [k: string]: JsonValue } = virtualConfig): { [k: string]: JsonValue } {
  const c = JSON.parse(JSON.stringify(base()));
  f(c);
  return c;
}
