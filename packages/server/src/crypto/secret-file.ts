import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * The SQLite default: a random secret in a file beside the database, made on first start (mode
 * 0600, created exclusively so two processes starting at once agree on one secret). A copy of
 * the database alone then holds no usable private key.
 */
export async function loadOrCreateSecretFile(file: string): Promise<string> {
  try {
    const secret = (await readFile(file, 'utf8')).trim();
    // A file made by hand or by an older version may be readable by others: only the owner's.
    await chmod(file, 0o600).catch((error: unknown) => {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'EPERM' && code !== 'EROFS') throw error;
    });
    return secret;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  try {
    const handle = await open(file, 'wx', 0o600);
    try {
      await handle.writeFile(`${randomBytes(32).toString('base64url')}\n`);
    } finally {
      await handle.close();
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  return (await readFile(file, 'utf8')).trim();
}
