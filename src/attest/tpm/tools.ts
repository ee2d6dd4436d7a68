// Running tpm2-tools (https://github.com/tpm2-software/tpm2-tools, 5.x): there is no maintained
// Node binding for TPM 2.0, and the tools are packaged everywhere a TPM is. Each call is an
// execFile (never a shell: arguments are never re-parsed), with the TCTI in TPM2TOOLS_TCTI, a
// timeout (a TPM that does not answer must not hang the gateway), and stderr kept for the error.

import { execFile, type ExecFileException } from 'node:child_process';
import { existsSync } from 'node:fs';
import { AttestErrorCode } from '../errors.js';
import { LocalError } from '../../lib/errors.js';

/** The kernel's TPM resource manager: it flushes a connection's objects when the connection closes. */
const KERNEL_TCTI = 'device:/dev/tpmrm0';
const KERNEL_DEVICE = '/dev/tpmrm0';
/** Per tool call. A hardware TPM creates an ECC primary in well under a second; swtpm in milliseconds. */
export const DEFAULT_TPM_TIMEOUT_MS = 10_000;

/** The TCTI to use: the configured one, else the kernel resource manager when present, else none. */
export function detectTpm(opts: { tcti?: string } = {}): string | undefined {
  if (opts.tcti !== undefined && opts.tcti !== '') return opts.tcti;
  return existsSync(KERNEL_DEVICE) ? KERNEL_TCTI : undefined;
}

export interface ToolOptions {
  readonly tcti: string;
  readonly timeoutMs: number;
  /** Working directory: relative file arguments live here (a private directory of ours). */
  readonly cwd: string;
}

/** The TSS prefixes its log lines with "LEVEL:module:file:line:function() "; the message is the rest. */
function tssMessage(line: string): string {
  return line.replace(/^(?:WARNING|ERROR|INFO|DEBUG|TRACE):[\w-]+:\S+\(\)\s*/, '').trim();
}

function lines(stderr: string): string[] {
  return stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
}

/**
 * The most telling stderr line. tpm2-tools end every failure with "ERROR: Unable to run tpm2_x",
 * which says nothing; the line before it carries the TPM or TSS error (e.g. "Esys_Quote(0x1D5) - ...").
 */
function lastErrorLine(stderr: string): string {
  const ls = lines(stderr).filter((l) => !/^ERROR: Unable to run tpm2_/.test(l));
  return ls.length > 0 ? tssMessage(ls[ls.length - 1]!) : '(no output on stderr)';
}

/** tctildr reports a TCTI that cannot be opened (no device, connection refused) this way. */
function isTctiFailure(stderr: string): boolean {
  return /Could not load tcti|Failed to instantiate TCTI/i.test(stderr);
}

/** Runs one tpm2-tools command; resolves with its stdout. Errors are LocalError TPM_UNAVAILABLE / TPM_FAILED. */
export function runTool(tool: string, args: readonly string[], o: ToolOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      tool,
      [...args],
      {
        cwd: o.cwd,
        env: { ...process.env, TPM2TOOLS_TCTI: o.tcti },
        timeout: o.timeoutMs,
        killSignal: 'SIGKILL',
        maxBuffer: 1 << 20,
        encoding: 'utf8',
        windowsHide: true,
      },
      (err: ExecFileException | null, stdout: string, stderr: string) => {
        if (err === null) {
          resolve(stdout);
          return;
        }
        reject(toolError(tool, o, err, stderr));
      },
    );
  });
}

function toolError(tool: string, o: ToolOptions, err: ExecFileException, stderr: string): LocalError {
  if (err.code === 'ENOENT') {
    return new LocalError(AttestErrorCode.TPM_UNAVAILABLE, `tpm2-tools are not installed (${tool} not found on PATH; Debian/Ubuntu: apt install tpm2-tools)`, { cause: err });
  }
  if (err.killed === true || err.signal === 'SIGKILL') {
    return new LocalError(AttestErrorCode.TPM_UNAVAILABLE, `${tool}: no answer from the TPM at ${o.tcti} within ${o.timeoutMs} ms`, { cause: err });
  }
  if (isTctiFailure(stderr)) {
    // The first line is the root cause ("Failed to connect to host ..." / "Failed to open ... /dev/tpmrm0").
    const first = lines(stderr)[0];
    const why = first !== undefined ? tssMessage(first) : 'TCTI could not be loaded';
    return new LocalError(AttestErrorCode.TPM_UNAVAILABLE, `cannot reach the TPM at ${o.tcti}: ${why}`, { cause: err });
  }
  const status = typeof err.code === 'number' ? `exit ${err.code}` : String(err.code ?? err.signal ?? 'failed');
  return new LocalError(AttestErrorCode.TPM_FAILED, `${tool} failed (${status}): ${lastErrorLine(stderr)}`, { cause: err });
}
