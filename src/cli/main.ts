#!/usr/bin/env node
// `uzpgw` entry point. The dispatcher lives in dispatch.ts so tests can call it in-process.

import { main } from './dispatch.js';
import { watchParent } from '../lib/parent-watch.js';

watchParent();

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`uzpgw: ${String(e)}\n`);
    process.exitCode = 1;
  },
);
