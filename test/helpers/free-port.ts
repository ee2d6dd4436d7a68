// A TCP port free on 127.0.0.1 right now, for a process the test starts with a fixed --listen
// (one that must come back on the same address after a restart). Another process could take it
// in between; on loopback in a test run that is the accepted risk.

import { createServer } from 'node:net';

export async function freeLoopbackPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}
