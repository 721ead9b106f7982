/**
 * Whether a browser on this machine can be opened for the user: not over SSH, not in a container
 * or CI, not on a Linux machine without a display.
 */
export function browserAvailable(
  env: Readonly<Record<string, string | undefined>> = process.env,
  platform: NodeJS.Platform = process.platform,
): boolean {
  return browserUnavailableReason(env, platform) === undefined;
}

/** Why no browser can be opened here (`browserAvailable` is false), in words; else undefined. */
export function browserUnavailableReason(
  env: Readonly<Record<string, string | undefined>> = process.env,
  platform: NodeJS.Platform = process.platform,
): string | undefined {
  if (env.SSH_CONNECTION !== undefined || env.SSH_TTY !== undefined || env.SSH_CLIENT !== undefined)
    return 'this is an SSH session (SSH_CONNECTION, SSH_TTY or SSH_CLIENT is set): a browser would open on the remote machine, if at all';
  if (env.CI !== undefined && env.CI !== '' && env.CI !== 'false')
    return `this looks like CI (CI=${env.CI.slice(0, 20)}): nobody is at a browser`;
  if (env.container !== undefined) return 'this is a container (container is set)';
  if (env.REMOTE_CONTAINERS !== undefined)
    return 'this is a dev container (REMOTE_CONTAINERS is set)';
  if (env.CODESPACES !== undefined) return 'this is a Codespace (CODESPACES is set)';
  if (platform === 'linux' && (env.DISPLAY ?? '') === '' && (env.WAYLAND_DISPLAY ?? '') === '')
    return 'there is no display (neither DISPLAY nor WAYLAND_DISPLAY is set)';
  return undefined;
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
