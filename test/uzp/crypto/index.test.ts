// getProvider / PROVIDERS: the one place that chooses a provider by name.
import { describe, expect, it } from 'vitest';
import { getProvider, nobleProvider, nodeProvider, PROVIDERS } from '../../../src/uzp/crypto/index.js';
import { CommonCode, LocalError } from '../../../src/lib/errors.js';

describe('crypto provider registry', () => {
  it('defaults to node and finds each provider by name', () => {
    expect(getProvider()).toBe(nodeProvider);
    expect(getProvider('node')).toBe(nodeProvider);
    expect(getProvider('noble')).toBe(nobleProvider);
    expect(PROVIDERS.map((p) => p.name)).toEqual(['node', 'noble']);
    expect(Object.isFrozen(PROVIDERS)).toBe(true);
  });

  it('an unknown name is a local configuration error that lists the choices', () => {
    let caught: unknown;
    try {
      getProvider('openssl' as never);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(LocalError);
    expect((caught as LocalError).code).toBe(CommonCode.CONFIG_INVALID);
    expect((caught as LocalError).message).toBe('unknown crypto provider "openssl"; expected one of: node, noble');
  });
});
