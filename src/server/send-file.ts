// What every host checks before streaming a file for `http.response.pathsend`.
import { promises as fsp } from 'node:fs';
import { albanyError } from '../errors.js';

/**
 * The size of the regular file at `path`. Rejects with the file system's own error (`ENOENT`, `EACCES`)
 * when it cannot be read, and with `ERR_ALBANY_INVALID_MESSAGE` when it is not a regular file.
 */
export async function regularFileSize(path: string): Promise<number> {
  const stat = await fsp.stat(path);
  if (!stat.isFile()) {
    throw albanyError(
      'ERR_ALBANY_INVALID_MESSAGE',
      `http.response.pathsend: ${path} is not a regular file; only a regular file can be sent`,
      { details: { path } },
    );
  }
  return stat.size;
}
