/**
 * What an authorization request needs next (sign in, consent, confirmation, or its code) as a
 * table: prompt, max_age, impersonation, first-party clients, consents and public clients (RFC
 * 8252 §8.6), decided by the pure `decideNext` with no server, store or browser.
 */
import { describe, expect, it } from 'vitest';
import { decideNext, type NextStep, type SignInFacts } from '../src/authorization/decide.js';

const CREATED = 1_800_000_000_000; // when the request reached /authorize
const NOW = CREATED + 1_000;
const HOUR_AGO = CREATED - 3_600_000; // a sign-in from before this request
const JUST_NOW = CREATED + 500; // a sign-in made for this very request
const CLIENT = 'ghc_dev_app';
const API = 'https://api.example.com';

interface Row {
  readonly prompt?: readonly string[];
  readonly maxAge?: number;
  readonly scope?: readonly string[];
  readonly resource?: string;
  /** When the browser's session signed in; undefined: no session. */
  readonly signedIn?: number;
  /** The sign-in after the request was made elsewhere in the browser, not on its login page. */
  readonly elsewhere?: true;
  /** Whose client the browser's impersonation is for; undefined: none. */
  readonly impersonating?: string;
  /** The client now: first-party (skipConsent), third-party, or deleted. */
  readonly client?: 'first-party' | 'third-party' | 'deleted';
  /** A public client (no secret, token_endpoint_auth_method none); default: confidential. */
  readonly public?: true;
  readonly consented?: readonly string[];
}

function facts(row: Row): SignInFacts {
  return {
    request: {
      clientId: CLIENT,
      scope: row.scope ?? ['openid', 'profile'],
      resource: row.resource ?? null,
      prompt: row.prompt ?? [],
      maxAge: row.maxAge ?? null,
      createdAt: CREATED,
      // JUST_NOW stands for a sign-in on this request's own login page; `elsewhere` for one
      // made meanwhile in another tab or on the device page.
      ...(row.signedIn !== undefined && row.signedIn >= CREATED && row.elsewhere !== true
        ? { signedInAt: row.signedIn }
        : {}),
    },
    session: row.signedIn === undefined ? undefined : { userId: 'u1', authTime: row.signedIn },
    impersonation: row.impersonating === undefined ? undefined : { clientId: row.impersonating },
    client:
      row.client === 'deleted'
        ? undefined
        : {
            skipConsent: row.client === 'first-party',
            type: row.public === true ? 'native' : 'web',
          },
    consented: row.consented,
    now: NOW,
  };
}

/** The decision as plain data, errors by their RFC code and description. */
function summary(next: NextStep): unknown {
  if (next.kind === 'error')
    return { kind: 'error', code: next.error.code, description: next.error.description };
  return next;
}

const LOGIN = { kind: 'login' };
const CONSENT = { kind: 'consent' };
const LOGIN_REQUIRED = {
  kind: 'error',
  code: 'login_required',
  description: 'the user is not signed in',
};
const CONSENT_REQUIRED = {
  kind: 'error',
  code: 'consent_required',
  description: 'the user has not consented to this client',
};
const INTERACTION_REQUIRED = {
  kind: 'error',
  code: 'interaction_required',
  description: 'the user must confirm this request',
};
const codeFor = (authTime: number) => ({ kind: 'code', userId: 'u1', authTime });
const confirmFor = (authTime: number) => ({ kind: 'confirm', userId: 'u1', authTime });
const CONSENTED = ['openid', 'profile'];

const TABLE: readonly (readonly [string, Row, unknown])[] = [
  // Signed in or not.
  ['no session: sign in', {}, LOGIN],
  ['no session, prompt=none: login_required', { prompt: ['none'] }, LOGIN_REQUIRED],
  [
    'session and consent: the code',
    { signedIn: HOUR_AGO, consented: CONSENTED },
    codeFor(HOUR_AGO),
  ],
  [
    'session, prompt=none, consented: the code',
    { signedIn: HOUR_AGO, prompt: ['none'], consented: CONSENTED },
    codeFor(HOUR_AGO),
  ],
  // Consent.
  ['session, nothing consented: consent', { signedIn: HOUR_AGO }, CONSENT],
  [
    'session, fewer scopes consented: consent',
    { signedIn: HOUR_AGO, consented: ['openid'] },
    CONSENT,
  ],
  [
    'session, more scopes consented: the code',
    { signedIn: HOUR_AGO, consented: ['email', ...CONSENTED] },
    codeFor(HOUR_AGO),
  ],
  [
    'session, not consented, prompt=none: consent_required',
    { signedIn: HOUR_AGO, prompt: ['none'] },
    CONSENT_REQUIRED,
  ],
  [
    'prompt=consent asks again though consented',
    { signedIn: HOUR_AGO, prompt: ['consent'], consented: CONSENTED },
    CONSENT,
  ],
  ['no scope asked, nothing consented: consent', { signedIn: HOUR_AGO, scope: [] }, CONSENT],
  [
    'no scope asked, something consented: the code',
    { signedIn: HOUR_AGO, scope: [], consented: ['openid'] },
    codeFor(HOUR_AGO),
  ],
  [
    'resource scopes consented for that resource: the code',
    {
      signedIn: HOUR_AGO,
      scope: ['openid', 'read'],
      resource: API,
      consented: [
        'openid',
        `read@${encodeURIComponent(API)}`,
        `resource@${encodeURIComponent(API)}`,
      ],
    },
    codeFor(HOUR_AGO),
  ],
  [
    'resource scopes consented without the resource: consent',
    { signedIn: HOUR_AGO, scope: ['read'], resource: API, consented: ['read'] },
    CONSENT,
  ],
  // First-party clients never ask.
  [
    'first-party, nothing consented: the code',
    { signedIn: HOUR_AGO, client: 'first-party' },
    codeFor(HOUR_AGO),
  ],
  [
    'first-party, prompt=consent: the code',
    { signedIn: HOUR_AGO, client: 'first-party', prompt: ['consent'] },
    codeFor(HOUR_AGO),
  ],
  [
    'first-party, prompt=none: the code',
    { signedIn: HOUR_AGO, client: 'first-party', prompt: ['none'] },
    codeFor(HOUR_AGO),
  ],
  ['first-party, no session: sign in', { client: 'first-party' }, LOGIN],
  // prompt=login: a sign-in newer than the request.
  [
    'prompt=login, older session: sign in',
    { signedIn: HOUR_AGO, prompt: ['login'], consented: CONSENTED },
    LOGIN,
  ],
  [
    'prompt=login, signed in for this request: the code',
    { signedIn: JUST_NOW, prompt: ['login'], consented: CONSENTED },
    codeFor(JUST_NOW),
  ],
  [
    'prompt=login, signed in since but elsewhere (another tab, the device page): sign in',
    { signedIn: JUST_NOW, elsewhere: true, prompt: ['login'], consented: CONSENTED },
    LOGIN,
  ],
  [
    'public, consented, signed in since but elsewhere: confirm',
    { public: true, signedIn: JUST_NOW, elsewhere: true, consented: CONSENTED },
    confirmFor(JUST_NOW),
  ],
  [
    'public, consented, signed in since but elsewhere, prompt=none: interaction_required',
    { public: true, signedIn: JUST_NOW, elsewhere: true, prompt: ['none'], consented: CONSENTED },
    INTERACTION_REQUIRED,
  ],
  [
    'prompt=login consent, signed in for this request: consent',
    { signedIn: JUST_NOW, prompt: ['login', 'consent'], consented: CONSENTED },
    CONSENT,
  ],
  // max_age (seconds since sign-in).
  ['max_age passed: sign in', { signedIn: HOUR_AGO, maxAge: 60, consented: CONSENTED }, LOGIN],
  [
    'max_age passed, prompt=none: login_required',
    { signedIn: HOUR_AGO, maxAge: 60, prompt: ['none'], consented: CONSENTED },
    LOGIN_REQUIRED,
  ],
  [
    'max_age not passed: the code',
    { signedIn: HOUR_AGO, maxAge: 7200, consented: CONSENTED },
    codeFor(HOUR_AGO),
  ],
  [
    'max_age=0, older session: sign in',
    { signedIn: HOUR_AGO, maxAge: 0, consented: CONSENTED },
    LOGIN,
  ],
  [
    'max_age=0, signed in for this request: the code',
    { signedIn: JUST_NOW, maxAge: 0, consented: CONSENTED },
    codeFor(JUST_NOW),
  ],
  [
    'max_age passed, first-party: sign in',
    { signedIn: HOUR_AGO, maxAge: 60, client: 'first-party' },
    LOGIN,
  ],
  // The client deleted meanwhile.
  [
    'client deleted, signed in: login_required',
    { signedIn: HOUR_AGO, client: 'deleted', consented: CONSENTED },
    { kind: 'error', code: 'login_required', description: 'the client no longer exists' },
  ],
  ['client deleted, no session: sign in first', { client: 'deleted' }, LOGIN],
  // Impersonation: the operator confirms every time, whatever the user's session or consent.
  ['impersonating for this client: consent', { impersonating: CLIENT }, CONSENT],
  [
    'impersonating, user consented, first-party: still consent',
    { impersonating: CLIENT, signedIn: HOUR_AGO, client: 'first-party', consented: CONSENTED },
    CONSENT,
  ],
  [
    'impersonating, prompt=none: consent_required',
    { impersonating: CLIENT, prompt: ['none'] },
    CONSENT_REQUIRED,
  ],
  [
    'impersonating, prompt=login: consent (no sign-in asked)',
    { impersonating: CLIENT, prompt: ['login'], maxAge: 0 },
    CONSENT,
  ],
  [
    'impersonating for another client: stopped',
    { impersonating: 'ghc_dev_other', signedIn: HOUR_AGO, consented: CONSENTED },
    { kind: 'impersonating-another-client' },
  ],
  [
    'impersonating for another client, prompt=none: stopped',
    { impersonating: 'ghc_dev_other', prompt: ['none'] },
    { kind: 'impersonating-another-client' },
  ],
  // Public clients (RFC 8252 §8.6): nothing approved before spares an interaction in this request.
  [
    'public, session and consent: confirm',
    { public: true, signedIn: HOUR_AGO, consented: CONSENTED },
    confirmFor(HOUR_AGO),
  ],
  [
    'public, more scopes consented: still confirm',
    { public: true, signedIn: HOUR_AGO, consented: ['email', ...CONSENTED] },
    confirmFor(HOUR_AGO),
  ],
  [
    'public, prompt=none, consented: interaction_required',
    { public: true, signedIn: HOUR_AGO, prompt: ['none'], consented: CONSENTED },
    INTERACTION_REQUIRED,
  ],
  [
    'public, first-party (skip consent): still confirm',
    { public: true, signedIn: HOUR_AGO, client: 'first-party' },
    confirmFor(HOUR_AGO),
  ],
  [
    'public, first-party, prompt=none: interaction_required',
    { public: true, signedIn: HOUR_AGO, client: 'first-party', prompt: ['none'] },
    INTERACTION_REQUIRED,
  ],
  [
    'public, nothing consented: consent (the consent page is the interaction)',
    { public: true, signedIn: HOUR_AGO },
    CONSENT,
  ],
  [
    'public, not consented, prompt=none: consent_required',
    { public: true, signedIn: HOUR_AGO, prompt: ['none'] },
    CONSENT_REQUIRED,
  ],
  ['public, no session: sign in', { public: true, consented: CONSENTED }, LOGIN],
  [
    'public, no session, prompt=none: login_required',
    { public: true, prompt: ['none'], consented: CONSENTED },
    LOGIN_REQUIRED,
  ],
  [
    'public, consented, signed in for this request: the code',
    { public: true, signedIn: JUST_NOW, consented: CONSENTED },
    codeFor(JUST_NOW),
  ],
  [
    'public, first-party, signed in for this request: the code',
    { public: true, signedIn: JUST_NOW, client: 'first-party' },
    codeFor(JUST_NOW),
  ],
  [
    'public, prompt=login, signed in for this request: the code',
    { public: true, signedIn: JUST_NOW, prompt: ['login'], consented: CONSENTED },
    codeFor(JUST_NOW),
  ],
  [
    'public, max_age not passed, older sign-in: confirm',
    { public: true, signedIn: HOUR_AGO, maxAge: 7200, consented: CONSENTED },
    confirmFor(HOUR_AGO),
  ],
  [
    'public, impersonating for this client: consent, as for any client',
    { public: true, impersonating: CLIENT, signedIn: HOUR_AGO, consented: CONSENTED },
    CONSENT,
  ],
  [
    'confidential, consented, prompt=none: the code (its secret proves it at the token endpoint)',
    { signedIn: HOUR_AGO, prompt: ['none'], consented: CONSENTED },
    codeFor(HOUR_AGO),
  ],
];

describe('decideNext', () => {
  it.each(TABLE)('%s', (_name, row, expected) => {
    expect(summary(decideNext(facts(row)))).toEqual(expected);
  });
});
