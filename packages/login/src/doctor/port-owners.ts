import { readdir, readFile, readlink } from 'node:fs/promises';

/** A socket listening on a TCP port, as Linux's /proc/net/tcp{,6} lists it. */
export interface PortListener {
  /** The local address: `0.0.0.0`, `::` (all interfaces), `127.0.0.1`, `::1`, or another. */
  readonly address: string;
  readonly family: 4 | 6;
  /** loopback: reachable from this machine only; all: every interface, so from the network too. */
  readonly scope: 'loopback' | 'all' | 'other';
  /** The process holding it, where /proc lets this user see it. */
  readonly process?: { readonly pid: number; readonly command: string };
}

const LISTEN = '0A';

/**
 * Who listens on `port`, on Linux. Elsewhere (and where /proc is unreadable) undefined: the
 * doctor then says it cannot tell, rather than guessing.
 */
export async function listenersOn(
  port: number,
  procRoot = '/proc',
): Promise<PortListener[] | undefined> {
  if (process.platform !== 'linux') return undefined;
  const found: (PortListener & { inode: string })[] = [];
  let readable = false;
  for (const [file, family] of [
    ['tcp', 4],
    ['tcp6', 6],
  ] as const) {
    let text: string;
    try {
      text = await readFile(`${procRoot}/net/${file}`, 'utf8');
    } catch {
      continue;
    }
    readable = true;
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      const [local, , state] = fields.slice(1, 4);
      const inode = fields[9];
      if (local === undefined || state !== LISTEN || inode === undefined) continue;
      const [hexAddress, hexPort] = local.split(':');
      if (hexAddress === undefined || hexPort === undefined || parseInt(hexPort, 16) !== port)
        continue;
      const address = family === 4 ? ipv4(hexAddress) : ipv6(hexAddress);
      found.push({ address, family, scope: scopeOf(address), inode });
    }
  }
  if (!readable) return undefined;
  const owners = await socketOwners(new Set(found.map((f) => f.inode)), procRoot);
  return found.map(({ inode, ...listener }) => {
    const owner = owners.get(inode);
    return owner === undefined ? listener : { ...listener, process: owner };
  });
}

function scopeOf(address: string): PortListener['scope'] {
  if (address === '0.0.0.0' || address === '::') return 'all';
  if (address.startsWith('127.') || address === '::1' || address === '::ffff:127.0.0.1')
    return 'loopback';
  return 'other';
}

/** /proc/net/tcp writes an IPv4 address as one 32-bit word in host (little-endian) order. */
function ipv4(hex: string): string {
  const bytes = [0, 2, 4, 6].map((i) => parseInt(hex.slice(i, i + 2), 16)).reverse();
  return bytes.join('.');
}

/** /proc/net/tcp6: four 32-bit words, each in host order. */
function ipv6(hex: string): string {
  const groups: string[] = [];
  for (let word = 0; word < 4; word++) {
    const bytes = [0, 2, 4, 6].map((i) => hex.slice(word * 8 + i, word * 8 + i + 2)).reverse();
    groups.push(`${bytes[0]}${bytes[1]}`, `${bytes[2]}${bytes[3]}`);
  }
  const text = groups.map((g) => parseInt(g, 16).toString(16)).join(':');
  if (text === '0:0:0:0:0:0:0:0') return '::';
  if (text === '0:0:0:0:0:0:0:1') return '::1';
  if (text.startsWith('0:0:0:0:0:ffff:')) {
    const [hi, lo] = groups.slice(6).map((g) => parseInt(g, 16));
    return `::ffff:${(hi ?? 0) >> 8}.${(hi ?? 0) & 255}.${(lo ?? 0) >> 8}.${(lo ?? 0) & 255}`;
  }
  return text.replace(/(^|:)0(:0)+(:|$)/, '::');
}

/** Which processes hold these socket inodes: only those whose /proc/<pid>/fd this user may read. */
async function socketOwners(
  inodes: ReadonlySet<string>,
  procRoot: string,
): Promise<Map<string, { pid: number; command: string }>> {
  const owners = new Map<string, { pid: number; command: string }>();
  if (inodes.size === 0) return owners;
  let pids: string[];
  try {
    pids = (await readdir(procRoot)).filter((name) => /^\d+$/.test(name));
  } catch {
    return owners;
  }
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = await readdir(`${procRoot}/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let target: string;
      try {
        target = await readlink(`${procRoot}/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
      if (inode === undefined || !inodes.has(inode) || owners.has(inode)) continue;
      let command = '?';
      try {
        command = (await readFile(`${procRoot}/${pid}/comm`, 'utf8')).trim();
      } catch {
        // Gone in the meantime: keep the pid.
      }
      owners.set(inode, { pid: Number(pid), command });
    }
    if (owners.size === inodes.size) break;
  }
  return owners;
}
