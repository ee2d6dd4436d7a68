// A status object as the gateway writes it, for the writer and reader tests (the reporter test
// builds real ones from real parts).

import { STATUS_KIND, STATUS_VERSION, type GatewayStatus } from '../../src/gateway/status-file.js';

export const WRITTEN = Date.UTC(2026, 11, 1, 12, 0, 0); // 2026-12-01T12:00:00Z
const DAY = 86_400_000;

export function sampleStatus(o: Partial<GatewayStatus> = {}): GatewayStatus {
  return {
    kind: STATUS_KIND,
    version: STATUS_VERSION,
    written_at: new Date(WRITTEN).toISOString(),
    pid: 4242,
    state: 'running',
    started_at: new Date(WRITTEN - DAY).toISOString(),
    interval_ms: 30_000,
    config: '/etc/uzp-gateway/gateway.json',
    identity: { cid: 'ab'.repeat(32), name: 'gw-17', board: 'rpi-4b' },
    runtime: { node: 'v24.22.0', exec_path: '/opt/uzp-gateway/runtime/bin/node', arch: 'arm64', platform: 'linux' },
    rn: { state: 'attached', rn: 'cd'.repeat(32), address: 'rn.example.net:7443', since: new Date(WRITTEN - DAY).toISOString(), failures: 0 },
    artefacts: [
      { kind: 'pcert', file: '/var/lib/uzp-gateway/identity.pcert', object_id: '01'.repeat(32), epoch: 0, sequence: 0, not_before: '2026-01-01T00:00:00Z', expires_at: '2027-01-01T00:00:00Z', expiry: 'ok' },
      { kind: 'rn-set', file: '/etc/uzp-gateway/trust/rn-set.uzp', object_id: '02'.repeat(32), epoch: 1, sequence: 3, not_before: '2026-11-20T00:00:00Z', expires_at: '2026-12-20T00:00:00Z', expiry: 'ok' },
    ],
    slots: [{ slot: 'rs485-1', device: 'th-bus-1', driver: 'modbus-poller', state: 'running', readings: 12, detail: { running: true, readings: 12 } }],
    sessions: { open: 1, channels: 2, refusals: 0 },
    ...o,
  };
}
