// What every host checks before streaming a file for `http.response.pathsend`.
import { promises as fsp } from 'node:fs';

/** The size of the regular file at `path`; rejects when it is missing or not a regular file. */
export async function regularFileSize(path: string): Promise<number> {
  const stat = await fsp.stat(path);
  if (!stat.isFile()) throw new Error(`${path} is not a regular file`);
  return stat.size;
}
