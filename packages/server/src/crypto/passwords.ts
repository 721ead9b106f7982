import { hash, verify, type Algorithm } from '@node-rs/argon2';

/**
 * argon2id with OWASP's second recommended profile (m=19 MiB, t=2, p=1): the cost that keeps a
 * sign-in under ~50 ms on a small server while making offline guessing expensive.
 */
const OPTIONS = {
  // Algorithm.Argon2id: a const enum, which isolated modules cannot read by name.
  // eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment
  algorithm: 2 as Algorithm,
  memoryCost: 19456,
  timeCost: 2,
  parallelism: 1,
} as const;

export function hashPassword(password: string): Promise<string> {
  return hash(password, OPTIONS);
}

export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await verify(passwordHash, password);
  } catch {
    return false;
  }
}

/** A hash of a random password, verified against when the account does not exist, so both paths take as long. */
let decoy: Promise<string> | undefined;
export function decoyPasswordHash(): Promise<string> {
  decoy ??= hashPassword(`decoy-${Math.random()}`);
  return decoy;
}

/** Minimum rules for a password: long enough, not absurdly long (argon2 input is bounded). */
export function checkPasswordStrength(password: string): string | undefined {
  if (password.length < 10) return 'the password must have at least 10 characters';
  if (password.length > 1024) return 'the password must have at most 1024 characters';
  return undefined;
}
