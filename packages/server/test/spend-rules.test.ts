/**
 * The single-use rules are written once (storage/codes.ts `codeRules`, storage/tokens.ts
 * `refreshRules`) and read by both ways of spending: the one-statement UPDATE and the pure check
 * made on the stored record when that spends nothing. One table of requests goes through both,
 * on a real database: the statement spends exactly when the check finds nothing to refuse, and a
 * refused request leaves the credential unspent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../src/storage/database.js';
import { createStores, type Stores } from '../src/storage/index.js';
import {
  NO_CODE_CHALLENGE,
  codeRefusal,
  codeRules,
  type AuthorizationCode,
  type CodePresentation,
  type CodeRefusal,
} from '../src/storage/codes.js';
import {
  refreshRefusal,
  refreshRules,
  type RefreshPresentation,
  type RefreshRefusal,
  type RefreshToken,
} from '../src/storage/tokens.js';
import { sameValues, spendConditions } from '../src/storage/spend-rules.js';
import { DATABASES, type ThrowawayDatabase } from './support/databases.js';

const now = 1_800_000_000_000;

const storedCode = (
  codeHash: string,
  redirectUriSent = true,
  codeChallenge = 'challenge',
  dpopJkt: string | null = null,
): AuthorizationCode => ({
  codeHash,
  environment: 'development',
  clientId: 'c',
  userId: 'u1',
  redirectUri: 'http://127.0.0.1/cb',
  redirectUriSent,
  codeChallenge,
  scope: ['openid'],
  nonce: null,
  resource: 'https://api.example/',
  authTime: now,
  expiresAt: now + 60_000,
  impersonationId: null,
  grantId: null,
  dpopJkt,
  createdAt: now,
});

/** The DPoP key a bound code names (RFC 9449 §10), and another. */
const CODE_KEY = 'jkt-of-the-code-key';
const OTHER_CODE_KEY = 'jkt-of-another-code-key';

/** Everything a matching token request presents. */
const matching: CodePresentation = {
  clientId: 'c',
  codeChallenge: 'challenge',
  redirectUri: 'http://127.0.0.1/cb',
  resource: 'https://api.example/',
};

/**
 * A request that breaks one rule and only that one, for every rule: typed by the refusals, so a
 * new rule does not compile until it has its case here.
 */
const breakingCode: Record<CodeRefusal, (matching: CodePresentation) => CodePresentation> = {
  client: (p) => ({ ...p, clientId: 'other' }),
  redirect_uri: (p) => ({ ...p, redirectUri: 'http://127.0.0.1/other' }),
  // RFC 6749 §4.1.3: the authorization request carried redirect_uri, the token request does not.
  redirect_uri_missing: ({ clientId, codeChallenge, resource }) => ({
    clientId,
    codeChallenge,
    ...(resource === undefined ? {} : { resource }),
  }),
  code_verifier: (p) => ({ ...p, codeChallenge: 'another-challenge' }),
  resource: (p) => ({ ...p, resource: 'https://elsewhere.example/' }),
  // RFC 9449 §10: a proof of another key than the code is bound to (the case binds the code).
  dpop_jkt: (p) => ({ ...p, dpopJkt: OTHER_CODE_KEY }),
};

const codeCases: readonly {
  readonly name: string;
  readonly presented: CodePresentation;
  readonly refusal: CodeRefusal | undefined;
  /** Whether the authorization request carried redirect_uri (true unless said). */
  readonly redirectUriSent?: boolean;
  /** The code's code_challenge ('challenge' unless said). */
  readonly storedChallenge?: string;
  /** The DPoP key the code is bound to (none unless said). */
  readonly boundTo?: string;
}[] = [
  { name: 'everything matching', presented: matching, refusal: undefined },
  {
    name: 'no resource sent',
    presented: { clientId: 'c', codeChallenge: 'challenge', redirectUri: 'http://127.0.0.1/cb' },
    refusal: undefined,
  },
  {
    name: 'no redirect_uri or resource sent, none in the authorization request',
    presented: { clientId: 'c', codeChallenge: 'challenge' },
    refusal: undefined,
    redirectUriSent: false,
  },
  {
    name: 'the redirect_uri sent, none in the authorization request',
    presented: matching,
    refusal: undefined,
    redirectUriSent: false,
  },
  ...Object.entries(breakingCode).map(([reason, change]) => ({
    name: `breaking ${reason}`,
    presented: change(matching),
    refusal: reason as CodeRefusal,
    ...(reason === 'dpop_jkt' ? { boundTo: CODE_KEY } : {}),
  })),
  // RFC 9449 §10: a bound code needs a proof of its key; an unbound one takes any or none.
  {
    name: 'a bound code with a proof of its key',
    presented: { ...matching, dpopJkt: CODE_KEY },
    refusal: undefined,
    boundTo: CODE_KEY,
  },
  {
    name: 'a bound code without a proof',
    presented: matching,
    refusal: 'dpop_jkt',
    boundTo: CODE_KEY,
  },
  {
    name: 'an unbound code with a proof',
    presented: { ...matching, dpopJkt: OTHER_CODE_KEY },
    refusal: undefined,
  },
  {
    name: 'no redirect_uri and a wrong verifier',
    presented: { clientId: 'c', codeChallenge: 'x' },
    refusal: 'redirect_uri_missing',
  },
  // Refusals come in the rules' order: the client first, the verifier before the resource.
  {
    name: 'another client with a wrong verifier',
    presented: { ...matching, clientId: 'other', codeChallenge: 'x' },
    refusal: 'client',
  },
  {
    name: 'a wrong verifier and another resource',
    presented: { ...matching, codeChallenge: 'x', resource: 'https://elsewhere.example/' },
    refusal: 'code_verifier',
  },
  // The legacy exception (OAuth 2.1 §7.5.1): a code issued without a challenge.
  {
    name: 'a code issued without a challenge, redeemed without a verifier',
    presented: { ...matching, codeChallenge: NO_CODE_CHALLENGE },
    refusal: undefined,
    storedChallenge: NO_CODE_CHALLENGE,
  },
  {
    name: 'PKCE downgrade: a verifier for a code issued without a challenge',
    presented: matching,
    refusal: 'code_verifier',
    storedChallenge: NO_CODE_CHALLENGE,
  },
  {
    name: 'no verifier for a code issued with a challenge',
    presented: { ...matching, codeChallenge: NO_CODE_CHALLENGE },
    refusal: 'code_verifier',
  },
];

/** RFC 7638 thumbprints (any string does for the rules). */
const KEY = 'jkt-of-the-client-key';
const OTHER_KEY = 'jkt-of-another-key';

const storedRefresh = (tokenHash: string, dpopJkt: string | null): RefreshToken => ({
  tokenHash,
  familyId: `family-${tokenHash}`,
  environment: 'development',
  clientId: 'c',
  userId: 'u1',
  scope: ['openid', 'offline_access', 'notes:read'],
  resource: 'https://api.example/',
  authTime: now,
  codeHash: null,
  expiresAt: now + 86_400_000,
  impersonationId: null,
  dpopJkt,
  createdAt: now,
});

const breakingRefresh: Record<RefreshRefusal, Partial<RefreshPresentation>> = {
  client: { clientId: 'other' },
  dpop: { dpopJkt: OTHER_KEY },
  scope: { scope: ['openid', 'notes:write'] },
  resource: { resource: 'https://elsewhere.example/' },
};

const refreshCases: readonly {
  readonly name: string;
  readonly presented: RefreshPresentation;
  readonly refusal: RefreshRefusal | undefined;
  /** The DPoP key the token is bound to (KEY unless said; null: not bound). */
  readonly boundTo?: string | null;
}[] = [
  { name: 'the client alone', presented: { clientId: 'c', dpopJkt: KEY }, refusal: undefined },
  {
    name: 'the client and resource',
    presented: { clientId: 'c', dpopJkt: KEY, resource: 'https://api.example/' },
    refusal: undefined,
  },
  {
    name: 'a narrower scope',
    presented: { clientId: 'c', dpopJkt: KEY, scope: ['openid'] },
    refusal: undefined,
  },
  ...Object.entries(breakingRefresh).map(([reason, change]) => ({
    name: `breaking ${reason}`,
    presented: { clientId: 'c', dpopJkt: KEY, ...change },
    refusal: reason as RefreshRefusal,
  })),
  {
    name: 'another client asking a wider scope',
    presented: { clientId: 'other', dpopJkt: KEY, scope: ['admin'] },
    refusal: 'client',
  },
  // RFC 9449 §5: a bound token needs a proof of its key; an unbound one takes any or none.
  { name: 'a bound token without a proof', presented: { clientId: 'c' }, refusal: 'dpop' },
  {
    name: 'a bound token, no proof, another resource',
    presented: { clientId: 'c', resource: 'https://elsewhere.example/' },
    refusal: 'dpop',
  },
  {
    name: 'an unbound token without a proof',
    presented: { clientId: 'c' },
    refusal: undefined,
    boundTo: null,
  },
  {
    name: 'an unbound token with a proof',
    presented: { clientId: 'c', dpopJkt: OTHER_KEY },
    refusal: undefined,
    boundTo: null,
  },
  {
    name: 'an unbound token with a proof and a narrower scope',
    presented: { clientId: 'c', dpopJkt: OTHER_KEY, scope: ['openid'] },
    refusal: undefined,
    boundTo: null,
  },
];

describe('the single-use rules', () => {
  it('have a refusal case for each rule, and name each refusal once', () => {
    expect(codeRules.map((rule) => rule.reason).sort()).toEqual(Object.keys(breakingCode).sort());
    expect(refreshRules.map((rule) => rule.reason).sort()).toEqual(
      Object.keys(breakingRefresh).sort(),
    );
  });

  it('write a binding as "unbound, or bound to what is presented"; equality-only callers read first', () => {
    expect(spendConditions(refreshRules, { clientId: 'c', dpopJkt: KEY })).toEqual([
      { column: 'client_id', is: 'equal', value: 'c' },
      { column: 'dpop_jkt', is: 'unbound-or-equal', value: KEY },
    ]);
    expect(spendConditions(refreshRules, { clientId: 'c' })).toEqual([
      { column: 'client_id', is: 'equal', value: 'c' },
      { column: 'dpop_jkt', is: 'unbound' },
    ]);
    // A caller that writes only `column = value` must not drop the binding: it reads and checks.
    expect(sameValues(refreshRules, { clientId: 'c', dpopJkt: KEY })).toBeUndefined();
  });
});

describe.each(DATABASES)('single-use rules, both ways of spending, on $kind', ({ create }) => {
  let throwaway: ThrowawayDatabase;
  let handle: DatabaseHandle;
  let stores: Stores;

  beforeAll(async () => {
    throwaway = await create();
    handle = await openDatabase(throwaway.target);
    stores = createStores(handle);
    await stores.environments.create({ name: 'development', tier: 'development', createdAt: now });
  });
  afterAll(async () => {
    await handle.close();
    await throwaway.drop();
  });

  it.each(codeCases.map((c, i) => ({ ...c, i })))(
    'code, $name: one statement spends it exactly when the check refuses nothing',
    async ({ presented, refusal, redirectUriSent, storedChallenge, boundTo, i }) => {
      const code = storedCode(`code-${i}`, redirectUriSent, storedChallenge, boundTo ?? null);
      await stores.codes.issue(code, {
        at: now,
        event: { environment: 'development', type: 'code.issued', actor: 'user:u1' },
      });
      // The read-and-check way: the pure check on the stored code.
      const stored = await stores.codes.find('development', code.codeHash);
      expect(stored).toBeDefined();
      expect(codeRefusal(stored as AuthorizationCode, presented)).toBe(refusal);
      // The one-statement way agrees, and a refused request spends nothing.
      const redeemed = await stores.codes.redeem(
        'development',
        code.codeHash,
        presented,
        'g',
        now + 1,
      );
      if (refusal === undefined) {
        expect(redeemed).toMatchObject({ codeHash: code.codeHash, clientId: 'c' });
        expect(
          (await stores.codes.consume('development', code.codeHash, 'g', now + 2)).status,
        ).toBe('replayed');
      } else {
        expect(redeemed).toBeUndefined();
        expect(
          (await stores.codes.consume('development', code.codeHash, 'g', now + 2)).status,
        ).toBe('consumed');
      }
    },
  );

  it.each(refreshCases.map((c, i) => ({ ...c, i })))(
    'refresh token, $name: one statement rotates it only when the check refuses nothing',
    async ({ presented, refusal, boundTo, i }) => {
      const token = storedRefresh(`refresh-${i}`, boundTo === undefined ? KEY : boundTo);
      await stores.tokens.saveRefresh(token);
      const active = await stores.tokens.findActiveRefresh('development', token.tokenHash, now);
      expect(active).toBeDefined();
      expect(refreshRefusal(active as RefreshToken, presented)).toBe(refusal);
      const rotated = await stores.tokens.rotateRefreshOf(
        'development',
        token.tokenHash,
        presented,
        now + 1,
      );
      // A scope is not compared in SQL: such a request is never rotated in one statement.
      const inOneStatement = refusal === undefined && presented.scope === undefined;
      if (inOneStatement) expect(rotated).toMatchObject({ tokenHash: token.tokenHash });
      else expect(rotated).toBeUndefined();
      expect(
        await stores.tokens.findActiveRefresh('development', token.tokenHash, now + 2),
      ).toEqual(
        inOneStatement ? undefined : expect.objectContaining({ tokenHash: token.tokenHash }),
      );
    },
  );
});
