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

/**
 * The most an argon2 hash may cost to verify. A PHC string carries its own parameters and verify
 * obeys them, so a hash from elsewhere (`gatehouse users import`) with m=9999999 (10 GiB) or
 * t=999 would make every sign-in attempt for that email, by anyone, tie up a thread and gigabytes
 * for minutes. The caps admit common library defaults (PHP and argon2-cffi: 64 MiB, t 3-4;
 * OWASP's profiles; Keycloak's) and stay under ~15x Gatehouse's own cost.
 */
export const ARGON2_LIMITS = {
  /** KiB: 64 MiB. */
  maxMemoryKiB: 65_536,
  maxPasses: 10,
  /** memory x passes, the work of one verification: 64 MiB with t=4. */
  maxWork: 262_144,
  maxLanes: 8,
} as const;

const PHC_ARGON2 =
  /^\$argon2(?:id|i|d)\$v=19\$m=(\d{1,10}),t=(\d{1,10}),p=(\d{1,10})\$([A-Za-z0-9+/]{11,64})\$([A-Za-z0-9+/]{16,128})$/;

/**
 * What is wrong with an argon2 hash in PHC form before it is stored or verified: not that form
 * (RFC 9106 parameters, base64 salt of 8-48 bytes and tag of 12-96 bytes), parameters argon2
 * itself refuses (m below 8 KiB a lane), or a cost above ARGON2_LIMITS. Undefined when fine.
 */
export function argon2HashProblem(passwordHash: string): string | undefined {
  const match = PHC_ARGON2.exec(passwordHash);
  if (match === null)
    return 'must be an argon2 hash in PHC form ($argon2id$v=19$m=…,t=…,p=…$salt$hash)';
  const [memory, passes, lanes] = [match[1], match[2], match[3]].map(Number) as [
    number,
    number,
    number,
  ];
  if (passes < 1 || lanes < 1 || memory < 8 * lanes)
    return 'has argon2 parameters argon2 cannot verify (t and p at least 1, m at least 8 KiB per lane)';
  if (
    memory > ARGON2_LIMITS.maxMemoryKiB ||
    passes > ARGON2_LIMITS.maxPasses ||
    lanes > ARGON2_LIMITS.maxLanes ||
    memory * passes > ARGON2_LIMITS.maxWork
  )
    return `costs more to verify than a sign-in may (at most m=${ARGON2_LIMITS.maxMemoryKiB} KiB, t=${ARGON2_LIMITS.maxPasses}, p=${ARGON2_LIMITS.maxLanes}, m×t ≤ ${ARGON2_LIMITS.maxWork}): import the user without password_hash and set a password`;
  return undefined;
}

export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  // Never run a verification whose cost the stored hash dictates beyond the limits (a sign-in
  // attempt would otherwise be a denial of service), nor one argon2 would refuse anyway.
  if (argon2HashProblem(passwordHash) !== undefined) return false;
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
