// The node:crypto provider (default) against every official vector and property in compliance.ts.
import { nodeProvider } from '../../../src/uzp/crypto/node.js';
import { runProviderCompliance } from './compliance.js';

runProviderCompliance(nodeProvider, { curveRuns: 200 });
