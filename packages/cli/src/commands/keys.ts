import {
  DEFAULT_ROTATION_OVERLAP_MS,
  listKeys,
  retireKeys,
  rotateKey,
  type KeyView,
} from '@gatehouse/server';
import { Command } from 'commander';
import { UsageError } from '../errors.js';
import type { CliIo } from '../io.js';
import {
  withDataOptions,
  withStores,
  writeJson,
  type DataOptions,
  envOption,
  type JsonOption,
} from './data-options.js';

const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `0`, `30s`, `5m`, `1h`, `1d`. */
function parseOverlap(text: string): number {
  const match = /^(\d{1,6})([smhd])?$/.exec(text.trim());
  if (match === null)
    throw new UsageError(`--overlap must be a duration such as 30s, 5m or 1h, not "${text}"`);
  return Number(match[1]) * UNIT_MS[(match[2] ?? 's') as keyof typeof UNIT_MS];
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

function keyJson(key: KeyView): Record<string, unknown> {
  return {
    kid: key.kid,
    alg: key.alg,
    role: key.role,
    created_at: iso(key.createdAt),
    activates_at: iso(key.activatesAt),
    retirable_at: iso(key.retirableAt),
    retired_at: iso(key.retiredAt),
  };
}

function keyLine(key: KeyView): string {
  const when =
    key.role === 'next'
      ? `signs from ${iso(key.activatesAt) ?? ''}`
      : key.role === 'previous'
        ? `retirable from ${iso(key.retirableAt) ?? ''}`
        : key.role === 'retired'
          ? `retired ${iso(key.retiredAt) ?? ''}`
          : `signing since ${iso(key.activatesAt) ?? ''}`;
  return `${key.kid}  ${key.alg}  ${key.role.padEnd(8)}  ${when}`;
}

/** `gatehouse keys`: each environment's signing keys, their rotation and retirement. */
export function keysCommand(io: CliIo): Command {
  const keys = new Command('keys').description(
    "list, rotate and retire an environment's signing keys",
  );
  keys.addCommand(
    withDataOptions(
      new Command('list')
        .description('the keys: signing, next (published, not yet signing), previous, retired')
        .addOption(envOption())
        .option('--json', 'JSON output'),
    ).action((options: DataOptions & JsonOption & { env: string }) =>
      withStores(options, io, async (ctx) => {
        const all = await listKeys(ctx, options.env);
        if (options.json === true) writeJson(io, all.map(keyJson));
        else io.stdout.write(`${all.map(keyLine).join('\n')}\n`);
      }),
    ),
  );
  keys.addCommand(
    withDataOptions(
      new Command('rotate')
        .description(
          'make new keys (ES256 and RS256): published in the JWKS at once, signing after the overlap; the previous keys stay published until their tokens expire',
        )
        .addOption(envOption())
        .option(
          '--overlap <duration>',
          'how long the new key is published before it signs (30s, 5m, 1h)',
          `${DEFAULT_ROTATION_OVERLAP_MS / 1000}s`,
        )
        .option('--json', 'JSON output'),
    ).action((options: DataOptions & JsonOption & { env: string; overlap: string }) =>
      withStores(options, io, async (ctx) => {
        const key = await rotateKey(ctx, options.env, parseOverlap(options.overlap));
        // The ES256 key (access tokens) as before, with the keys made alongside it (RS256).
        if (options.json === true)
          writeJson(io, { ...keyJson(key), alongside: key.alongside.map(keyJson) });
        else
          io.stdout.write(
            `new keys ${[key, ...key.alongside].map((k) => `${k.kid} (${k.alg})`).join(', ')} published in ${options.env}; they sign from ${iso(key.activatesAt) ?? ''}\n`,
          );
      }),
    ),
  );
  keys.addCommand(
    withDataOptions(
      new Command('retire')
        .description(
          'retire previous keys whose tokens have all expired, or one key (--kid; --force before its time)',
        )
        .addOption(envOption())
        .option('--kid <kid>', 'this key only')
        .option('--force', 'retire it even though tokens it signed may still be valid')
        .option('--json', 'JSON output'),
    ).action((options: DataOptions & JsonOption & { env: string; kid?: string; force?: boolean }) =>
      withStores(options, io, async (ctx) => {
        if (options.force === true && options.kid === undefined)
          throw new UsageError('--force needs --kid: it retires one key before its time');
        const retired = await retireKeys(ctx, options.env, {
          ...(options.kid === undefined ? {} : { kid: options.kid }),
          ...(options.force === true ? { force: true } : {}),
        });
        if (options.json === true) writeJson(io, retired.map(keyJson));
        else
          io.stdout.write(
            `${retired.length === 0 ? 'no key is due for retirement' : retired.map((k) => `retired ${k.kid}`).join('\n')}\n`,
          );
      }),
    ),
  );
  return keys;
}
