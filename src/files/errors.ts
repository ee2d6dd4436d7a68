// Codes of local files: key files, artefact files, trust anchors, state (fault: local; the
// message names the file and the fix). Raised as LocalError (lib/errors.ts).

export const FileErrorCode = {
  KEY_FILE_PERMISSIONS: 'KEY_FILE_PERMISSIONS',
  KEY_FILE_INVALID: 'KEY_FILE_INVALID',
  FILE_NOT_FOUND: 'FILE_NOT_FOUND',
  FILE_EXISTS: 'FILE_EXISTS',
  FILE_IO: 'FILE_IO',
  FILE_INVALID: 'FILE_INVALID',
} as const;
export type FileErrorCode = (typeof FileErrorCode)[keyof typeof FileErrorCode];
