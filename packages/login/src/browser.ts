/**
 * Whether a browser on this machine can be opened for the user: not over SSH, not in a container
 * or CI, not on a Linux machine without a display.
 */
export function browserAvailable(
  env: Readonly<Record<string, string | undefined>> = process.env,
  platform: NodeJS.Platform = process.platform,
): boolean {
  if (env.SSH_CONNECTION !== undefined || env.SSH_TTY !== undefined || env.SSH_CLIENT !== undefined)
    return false;
  if (env.CI !== undefined && env.CI !== '' && env.CI !== 'false') return false;
  if (
    env.container !== undefined ||
    env.REMOTE_CONTAINERS !== undefined ||
    env.CODESPACES !== undefined
  )
    return false;
  if (platform === 'linux' && (env.DISPLAY ?? '') === '' && (env.WAYLAND_DISPLAY ?? '') === '')
    return false;
  return true;
}

/** Opens an http(s) URL in the system browser; anything else is refused. Never throws. */
export async function openInBrowser(url: string): Promise<boolean> {
  if (!/^https?:\/\//i.test(url)) return false;
  try {
    const { default: open } = await import('open');
    const child = await open(url, { wait: false });
    child.on('error', () => undefined);
    return true;
  } catch {
    return false;
  }
}
