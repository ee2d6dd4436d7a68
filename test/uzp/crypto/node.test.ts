// The node:crypto provider (default) against every official vector and property in compliance.ts.
import { describe, expect, it } from 'vitest';
import { mlkemBackend, nodeProvider } from '../../../src/uzp/crypto/node.js';
import { runProviderCompliance } from './compliance.js';

runProviderCompliance(nodeProvider, { curveRuns: 200 });

describe('node provider: where its ML-KEM comes from', () => {
  it('OpenSSL on a runtime whose OpenSSL has ML-KEM (3.5 and later: the pinned Node 24), @noble on older ones', () => {
    const [major, minor] = process.versions.openssl.split('.').map(Number) as [number, number];
    expect(mlkemBackend()).toBe(major > 3 || (major === 3 && minor >= 5) ? 'openssl' : 'noble');
  });
});
