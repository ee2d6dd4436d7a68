// Imports point downward only (docs/ARCHITECTURE.md §Layers): lib <- uzp <- (hil, ports, files) <-
// (hil-devices, attest) <- (config, console) <- (gateway, operator, collector, rn, pantheon, flash, sim, demo,
// hil-runner) <- cli; ports imports nothing from uzp; production code never imports demo.

import { describe, expect, it } from 'vitest';
import { edgesOf, layerOf, repoRoot, sourceFiles, TIERS, violation, violationsIn } from './layers.js';

describe('import direction', () => {
  it('src/ has no import against the layer order', () => {
    expect(violationsIn(repoRoot())).toEqual([]);
  });

  it('every directory under src/ is a layer in the order', () => {
    const layers = new Set(sourceFiles(repoRoot()).map((f) => layerOf(f)!));
    const known = new Set(TIERS.flat());
    expect([...layers].filter((l) => !known.has(l))).toEqual([]);
  });

  // The checker must be able to fail: each bad import below is one the architecture forbids.
  const bad: [string, string, string][] = [
    ['src/ports/modbus/bus.ts', "import { ErrorCode } from '../../uzp/errors.js';", 'ports -> uzp is banned'],
    ['src/uzp/session/session.ts', "import { Gateway } from '../../gateway/gateway.js';", 'uzp (tier 1) may not import gateway'],
    ['src/lib/clock.ts', "import type { Session } from '../uzp/session/session.js';", 'lib (tier 0) may not import uzp'],
    ['src/operator/connect.ts', "import { HilBroker } from '../gateway/hil/broker.js';", 'operator (tier 5) may not import gateway'],
    ['src/demo/run.ts', "import type { Gateway } from '../gateway/gateway.js';", 'demo (tier 5) may not import gateway'],
    ['src/hil-devices/index.ts', "import type { SlotConfig } from '../config/types.js';", 'hil-devices (tier 3) may not import config'],
    ['src/attest/measure.ts', "export { configDigest } from '../config/digest.js';", 'attest (tier 3) may not import config'],
    ['src/gateway/gateway.ts', "const m = await import('../demo/run.js');", 'production code never imports demo'],
    ['src/cli/rn.ts', "import { runDemo } from '../demo/run.js';", 'production code never imports demo'],
    ['src/index.ts', "export { runDemo } from './demo/run.js';", 'production code never imports demo'],
    ['src/uzp/endpoint.ts', "import type { Session } from '../index.js';", 'uzp (tier 1) may not import (entry)'],
    ['src/mystery/x.ts', "import { x } from '../lib/clock.js';", 'layer mystery is not in the layer order'],
    ['src/gateway/gateway.ts', "import { ConsoleServer } from '../console/server.js';", 'gateway -> console is banned'],
  ];
  it.each(bad)('refuses %s: %s', (file, text, why) => {
    const found = edgesOf(file, text).map(violation);
    expect(found).toHaveLength(1);
    expect(found[0]).toContain(why);
  });

  it('allows imports downward, within a layer and along the listed same-tier edges', () => {
    const ok: [string, string][] = [
      ['src/cli/demo.ts', "import { runDemo } from '../demo/run.js';"],
      ['src/gateway/gateway.ts', "import { Backoff } from '../lib/backoff.js';"],
      ['src/demo/run.ts', "import { PtyPair } from '../sim/pty.js';"],
      ['src/uzp/link/rn-link.ts', "import { Session } from '../session/session.js';"],
      ['src/hil/modbus-request.ts', "import { FunctionCode } from '../ports/modbus/pdu.js';"],
    ];
    for (const [file, text] of ok) expect(edgesOf(file, text).map(violation), `${file}: ${text}`).toEqual([undefined]);
  });
});
