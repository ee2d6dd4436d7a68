#!/usr/bin/env node
// `uzpgw` entry point. The dispatcher lives in dispatch.ts so tests can call it in-process.

import { main } from './dispatch.js';
import { exitStatus, onOutputClosed, watchOutput } from './output-closed.js';
import { watchParent } from '../lib/parent-watch.js';

watchParent();
// A reader that closes stdout early (`| head -n1`) stops the command, not a stack trace (output-closed.ts).
watchOutput(process.stdout, process.stderr);

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = exitStatus(code);
    // The last write may fail after the command returned (it was queued): the status follows.
    onOutputClosed(() => (process.exitCode = exitStatus(code)));
  },
  (e: unknown) => {
    process.stderr.write(`uzpgw: ${String(e)}\n`);
    process.exitCode = 1;
  },
);
