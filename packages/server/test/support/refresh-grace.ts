import type { ServiceContext } from '../../src/services/context.js';

/**
 * Runs `body` with the environment's refresh grace window off (issue #17: within it, a rotated
 * refresh token presented again by its client gets a successor), then puts the window back: for
 * the tests of what a reuse does, which present the rotated token at once. The server reads the
 * environment through the same cached stores, so the change is in force at once.
 */
export async function withoutRefreshGrace<T>(
  ctx: ServiceContext,
  body: () => Promise<T>,
  environment = 'development',
): Promise<T> {
  const before = await ctx.stores.environments.get(environment);
  if (before === undefined) throw new Error(`no environment ${environment}`);
  await ctx.stores.environments.update(environment, { refreshGraceSeconds: 0 });
  try {
    return await body();
  } finally {
    await ctx.stores.environments.update(environment, {
      refreshGraceSeconds: before.refreshGraceSeconds,
    });
  }
}
