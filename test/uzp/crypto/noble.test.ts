// The pure-JS @noble provider against every official vector and property in compliance.ts.
// Curve arithmetic in pure JS is ~50x slower, so curve properties run fewer cases here; the
// cross-provider properties in agreement.test.ts cover the rest.
import { nobleProvider } from '../../../src/uzp/crypto/noble.js';
import { runProviderCompliance } from './compliance.js';

runProviderCompliance(nobleProvider, { curveRuns: 40 });
