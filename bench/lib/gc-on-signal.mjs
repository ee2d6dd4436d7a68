// Preloaded (node --expose-gc --import) into the processes whose memory the rn-memory bench
// samples, so that the bench can ask for a full GC from outside (SIGUSR2) before reading VmRSS,
// without asking anything of the RN itself. SIGUSR2 is unused by node and by `uzpgw rn`.

if (typeof globalThis.gc === 'function') {
  process.on('SIGUSR2', () => globalThis.gc());
}
