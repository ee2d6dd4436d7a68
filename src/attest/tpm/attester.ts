// The gateway's TPM 2.0 attestation key (AK) and TPM2_Quote, through tpm2-tools.
//
// AK scheme: files, not a persistent handle. On first open we create, under an owner-hierarchy
// primary storage key, a restricted ECC P-256 signing key whose scheme is fixed to ECDSA-SHA256
// (Part 1 §25.2.3: a restricted key signs only digests the TPM computed itself, so it cannot be
// made to sign a forged TPMS_ATTEST). Its private area leaves the TPM only wrapped by the primary
// (TPM2B_PRIVATE, Part 1 §23), so the key cannot be used anywhere but this TPM (fixedTPM,
// fixedParent). We keep in stateDir:
//   tpm-ak.pub   TPM2B_PUBLIC as tpm2-tools write it with -u: WITH the u16 size prefix
//                (this is exactly TpmQuote.akPublic)
//   tpm-ak.priv  TPM2B_PRIVATE (wrapped; useless without this TPM's owner seed)
// The primary is never stored: it is re-derived on each use from the owner seed and a fixed
// template (Part 1 §27.1: same seed + same template = same key), so a TPM Reset, a reboot or a
// resource manager flushing everything cannot lose it, and no NV slot (persistent handle) is used
// on a TPM other software shares. Reopening loads the same files, hence the same AK name.
//
// Transient objects: without a resource manager (swtpm, /dev/tpm0) every loaded object stays in the
// TPM's few slots after the tool exits, so we flush transients (tpm2_flushcontext -t) around each
// use; with /dev/tpmrm0 that flush is a no-op for other clients' objects.

import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { equal, toHex } from '../../uzp/bytes.js';
import { nodeProvider } from '../../uzp/crypto/node.js';
import type { TpmQuote } from '../types.js';
import { akNameOf, decodeAttest, decodePublic, unwrapAttest } from './structures.js';
import { DEFAULT_TPM_TIMEOUT_MS, runTool, type ToolOptions } from './tools.js';
import { FileErrorCode } from '../../files/errors.js';
import { AttestErrorCode } from '../errors.js';
import { CodedError, DecodeError, LocalError } from '../../lib/errors.js';

export const AK_PUBLIC_FILE = 'tpm-ak.pub';
export const AK_PRIVATE_FILE = 'tpm-ak.priv';

/** PCRs 0-7 of the SHA-256 bank: firmware, option ROMs, boot loader, Secure Boot policy (TCG PC Client PFP). */
const QUOTE_PCRS = 'sha256:0,1,2,3,4,5,6,7';
const QUOTE_PCR_COUNT = 8;
const PCR_SIZE = 32;
/** TPM2B_DATA for qualifyingData: real TPMs refuse more than their largest digest. */
const MAX_QUALIFYING = 64;
/** A PCR extended between TPM2_Quote and the tool's TPM2_PCR_Read makes the values disagree: retry. */
const QUOTE_ATTEMPTS = 3;

/** Owner-hierarchy storage primary: the TCG SRK-style template, pinned here so it is always re-derived the same. */
const PRIMARY_ARGS = ['-C', 'o', '-g', 'sha256', '-G', 'ecc256:aes128cfb', '-a', 'restricted|decrypt|fixedtpm|fixedparent|sensitivedataorigin|userwithauth|noda'];
/** The AK: restricted signing key, ECDSA-SHA256 scheme bound into the key, no symmetric part. */
const AK_ARGS = ['-g', 'sha256', '-G', 'ecc256:ecdsa-sha256:null', '-a', 'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|restricted|sign'];

interface TpmAttesterOptions {
  /** tpm2-tools TCTI, e.g. "device:/dev/tpmrm0" or "swtpm:host=127.0.0.1,port=2321". */
  readonly tcti: string;
  /** Directory for the AK files (created 0700 if missing) and per-call scratch directories. */
  readonly stateDir: string;
  /** Timeout of each tpm2-tools call (default 10 s). */
  readonly timeoutMs?: number;
}

/** One tpm2 tool at a time per TPM in this process: the flushes would otherwise hit a neighbour's objects. */
const locks = new Map<string, Promise<void>>();

function serialized<T>(tcti: string, f: () => Promise<T>): Promise<T> {
  const prev = locks.get(tcti) ?? Promise.resolve();
  const run = prev.then(f, f);
  const tail = run.then(
    () => undefined,
    () => undefined,
  );
  locks.set(tcti, tail);
  void tail.then(() => {
    if (locks.get(tcti) === tail) locks.delete(tcti);
  });
  return run;
}

function sha256(b: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(b).digest());
}

async function readIfExists(path: string): Promise<Uint8Array | undefined> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new LocalError(FileErrorCode.FILE_IO, `cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
}

/** Writes via a temporary name and rename, mode 0600, so a crash never leaves half a key file. */
async function writePrivateFile(path: string, data: Uint8Array): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await rm(tmp, { force: true }); // a leftover would keep its old mode: mode applies only on creation
  await writeFile(tmp, data, { mode: 0o600, flag: 'wx' });
  await rename(tmp, path);
}

class Tpm {
  constructor(
    private readonly tcti: string,
    private readonly timeoutMs: number,
    private readonly stateDir: string,
  ) {}

  run(dir: string, tool: string, args: readonly string[]): Promise<string> {
    const o: ToolOptions = { tcti: this.tcti, timeoutMs: this.timeoutMs, cwd: dir };
    return runTool(tool, args, o);
  }

  flush(dir: string): Promise<string> {
    return this.run(dir, 'tpm2_flushcontext', ['-t']);
  }

  /** After an operation: a failing flush must not hide the operation's own error (the next primary() flushes again). */
  async flushQuietly(dir: string): Promise<void> {
    await this.flush(dir).catch(() => undefined);
  }

  /** Runs f in a fresh 0700 scratch directory inside stateDir, removed afterwards. */
  async inScratch<T>(f: (dir: string) => Promise<T>): Promise<T> {
    const dir = await mkdtemp(join(this.stateDir, '.tpm-'));
    try {
      return await f(dir);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** Re-derives the primary and leaves primary.ctx in dir (no transient object stays loaded). */
  async primary(dir: string): Promise<void> {
    await this.flush(dir);
    await this.run(dir, 'tpm2_createprimary', [...PRIMARY_ARGS, '-c', 'primary.ctx']);
  }

  /** Creates a new AK under the primary; returns its TPM2B_PUBLIC and TPM2B_PRIVATE. */
  async createAk(dir: string): Promise<{ pub: Uint8Array; priv: Uint8Array }> {
    await this.primary(dir);
    try {
      await this.run(dir, 'tpm2_create', ['-C', 'primary.ctx', ...AK_ARGS, '-u', 'ak.pub', '-r', 'ak.priv']);
    } finally {
      await this.flushQuietly(dir);
    }
    return { pub: new Uint8Array(await readFile(join(dir, 'ak.pub'))), priv: new Uint8Array(await readFile(join(dir, 'ak.priv'))) };
  }

  /** Loads the AK from its files; leaves ak.ctx in dir and returns the name the TPM computed. */
  async loadAk(dir: string, pub: Uint8Array, priv: Uint8Array): Promise<Uint8Array> {
    await writeFile(join(dir, 'ak.pub'), pub, { mode: 0o600 });
    await writeFile(join(dir, 'ak.priv'), priv, { mode: 0o600 });
    await this.primary(dir);
    try {
      await this.run(dir, 'tpm2_load', ['-C', 'primary.ctx', '-u', 'ak.pub', '-r', 'ak.priv', '-c', 'ak.ctx', '-n', 'ak.name']);
    } catch (e) {
      if (e instanceof LocalError && e.code === AttestErrorCode.TPM_FAILED) {
        throw new LocalError(
          AttestErrorCode.TPM_FAILED,
          `the AK in ${join(this.stateDir, AK_PUBLIC_FILE)} does not load on this TPM (was the TPM cleared or replaced? remove ${AK_PUBLIC_FILE} and ${AK_PRIVATE_FILE} to create and enroll a new AK): ${e.message}`,
          { cause: e },
        );
      }
      throw e;
    } finally {
      // ak.ctx is a saved context: it can be loaded again after the flush.
      await this.flushQuietly(dir);
    }
    return new Uint8Array(await readFile(join(dir, 'ak.name')));
  }
}

export class TpmAttester {
  private constructor(
    private readonly tpm: Tpm,
    private readonly tcti: string,
    private readonly priv: Uint8Array,
    /** TPM2B_PUBLIC of the AK, with its u16 size prefix (as tpm2-tools write it). */
    readonly akPublic: Uint8Array,
    /** nameAlg || SHA-256(TPMT_PUBLIC): what verifiers enroll and pin. */
    readonly akName: Uint8Array,
  ) {}

  /** Opens (creating on first use) the AK in o.stateDir; proves it loads on this TPM. */
  static async open(o: TpmAttesterOptions): Promise<TpmAttester> {
    const timeoutMs = o.timeoutMs ?? DEFAULT_TPM_TIMEOUT_MS;
    if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) throw new RangeError(`timeoutMs must be a positive integer, got ${timeoutMs}`);
    await mkdir(o.stateDir, { recursive: true, mode: 0o700 });
    const tpm = new Tpm(o.tcti, timeoutMs, o.stateDir);
    const pubPath = join(o.stateDir, AK_PUBLIC_FILE);
    const privPath = join(o.stateDir, AK_PRIVATE_FILE);
    return serialized(o.tcti, () =>
      tpm.inScratch(async (dir) => {
        let pub = await readIfExists(pubPath);
        let priv = await readIfExists(privPath);
        if (pub === undefined || priv === undefined) {
          ({ pub, priv } = await tpm.createAk(dir));
          // The private part first: the public file's presence marks a complete pair.
          await writePrivateFile(privPath, priv);
          await writePrivateFile(pubPath, pub);
        }
        const akName = checkedName(pub, pubPath);
        const tpmName = await tpm.loadAk(dir, pub, priv);
        if (!equal(tpmName, akName)) {
          throw new LocalError(AttestErrorCode.TPM_FAILED, `the TPM names the AK ${toHex(tpmName)}, but ${pubPath} hashes to ${toHex(akName)}`);
        }
        return new TpmAttester(tpm, o.tcti, priv, pub, akName);
      }),
    );
  }

  /**
   * TPM2_Quote over PCRs sha256:0-7 with `qualifying` as qualifyingData (1..64 bytes; the profile
   * uses 32). Calls are serialized: one tpm2 tool at a time on this TPM.
   */
  quote(qualifying: Uint8Array): Promise<TpmQuote> {
    if (qualifying.length < 1 || qualifying.length > MAX_QUALIFYING) {
      return Promise.reject(new RangeError(`qualifying data must be 1..${MAX_QUALIFYING} bytes, got ${qualifying.length}`));
    }
    return serialized(this.tcti, () => this.tpm.inScratch((dir) => this.quoteIn(dir, Uint8Array.from(qualifying))));
  }

  private async quoteIn(dir: string, qualifying: Uint8Array): Promise<TpmQuote> {
    await this.tpm.loadAk(dir, this.akPublic, this.priv);
    try {
      for (let attempt = 1; ; attempt++) {
        // -q as hex (cwd is our empty scratch directory, so it cannot be mistaken for a file name);
        // -f tss: TPMT_SIGNATURE; -F values: the PCR values alone, concatenated in selection order.
        await this.tpm.run(dir, 'tpm2_quote', ['-c', 'ak.ctx', '-l', QUOTE_PCRS, '-g', 'sha256', '-q', toHex(qualifying), '-m', 'quote.msg', '-s', 'quote.sig', '-f', 'tss', '-o', 'quote.pcrs', '-F', 'values']);
        const attest = unwrapAttest(new Uint8Array(await readFile(join(dir, 'quote.msg'))));
        const signature = new Uint8Array(await readFile(join(dir, 'quote.sig')));
        const pcrs = new Uint8Array(await readFile(join(dir, 'quote.pcrs')));
        if (pcrs.length !== QUOTE_PCR_COUNT * PCR_SIZE) {
          throw new LocalError(AttestErrorCode.TPM_FAILED, `tpm2_quote wrote ${pcrs.length} bytes of PCR values, expected ${QUOTE_PCR_COUNT * PCR_SIZE}`);
        }
        // tpm2_quote reads the PCR values after the quote; if one was extended in between, quote again.
        if (equal(decodeAttest(attest).pcrDigest, sha256(pcrs))) return { akPublic: this.akPublic, attest, signature, pcrs };
        if (attempt >= QUOTE_ATTEMPTS) throw new LocalError(AttestErrorCode.TPM_FAILED, `PCRs kept changing during the quote (${QUOTE_ATTEMPTS} attempts)`);
      }
    } catch (e) {
      if (e instanceof DecodeError) throw new LocalError(AttestErrorCode.TPM_FAILED, `tpm2_quote wrote a quote we cannot read: ${e.message}`, { cause: e });
      throw e;
    } finally {
      await this.tpm.flushQuietly(dir);
    }
  }
}

/** The AK's name from its public file, refusing a file that is not our kind of AK. */
function checkedName(pub: Uint8Array, path: string): Uint8Array {
  try {
    decodePublic(pub);
    return akNameOf(nodeProvider, pub);
  } catch (e) {
    if (e instanceof CodedError) throw new LocalError(AttestErrorCode.TPM_FAILED, `${path} is not an ECC P-256 AK public area: ${e.message}`, { cause: e });
    throw e;
  }
}
