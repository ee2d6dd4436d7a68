// What `uzpgw connect … modbus-tcp` says for ILLEGAL_REQUEST (src/operator/grant-text.ts): the
// gateway answers it with exception 0x01, 0x02, 0x03 or 0x0A (docs/PROFILE.md "Exceptions with
// ILLEGAL_REQUEST"), and connect said "the gateway does not pass this Modbus function" for all of
// them, a quantity of 126 registers included (found by the operator review).

import { describe, expect, it } from 'vitest';
import { explainIllegalRequest, explainRefusal } from '../../src/operator/grant-text.js';
import type { GrantBody } from '../../src/uzp/artefacts/types.js';

const grant: GrantBody = { scopes: [{ slot: 'rs485-1', purposes: [{ purpose: 'modbus.read' }] }], nonce: 1, earlyData: false, noReplay: false };

describe('ILLEGAL_REQUEST told by its exception', () => {
  it('each exception the gateway gives it says its own case', () => {
    expect(explainIllegalRequest(0x01)).toMatch(/function other than 1-6, 15, 16, 23 and 43\/14, or a read to unit 0/);
    expect(explainIllegalRequest(0x02)).toMatch(/address range runs past 65535/);
    expect(explainIllegalRequest(0x03)).toMatch(/malformed Modbus request: a quantity outside/);
    expect(explainIllegalRequest(0x0a)).toMatch(/units 248-255 .* unit 0 .* "tcp_unit_0" is "refuse"/);
  });

  it('without the exception, the code alone names every case, not only a function not passed', () => {
    const text = explainRefusal('ILLEGAL_REQUEST', grant, 'rs485-1');
    expect(text).toBe(explainIllegalRequest(undefined));
    expect(text).toMatch(/a function other than .*, a malformed request, or a unit the slot does not address/);
  });
});
