import { html, page, raw, type Raw } from '../http/html.js';

/** One application or agent, as the page shows it (services/account.ts AccountGrant). */
export interface AccountPageGrant {
  readonly clientId: string;
  readonly name: string | null;
  readonly unverified: boolean;
  readonly scopes: readonly string[];
  readonly resources: readonly { readonly uri: string; readonly scopes: readonly string[] }[];
  readonly lastUsedAt: number | null;
  readonly deviceBound: boolean;
}

export interface AccountPageSession {
  readonly handle: string;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly current: boolean;
}

/** What the page confirms after a POST (a fixed set: nothing from the query is echoed). */
export type AccountNotice = 'revoked' | 'session_ended';

const NOTICES: Readonly<Record<AccountNotice, string>> = {
  revoked: 'Access revoked. It no longer has access to your account.',
  session_ended: 'That session has been signed out.',
};

const SCOPE_WORDS: Readonly<Record<string, string>> = {
  openid: 'Confirm who you are',
  profile: 'See your name',
  email: 'See your email address',
  offline_access: 'Stay signed in when you are not using it',
};

/** A time in UTC to the minute: what a person needs, in no one's locale. */
function when(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

function grantItem(
  environment: string,
  csrf: string,
  grant: AccountPageGrant,
  agent: boolean,
): Raw {
  // A self-registered client's name is its own claim (as on the consent page): quoted, badged,
  // and shown with the id that identifies it.
  const title =
    grant.name === null
      ? html`<strong>A deleted application</strong>`
      : grant.unverified
        ? html`<strong>“${grant.name}”</strong> <span class="badge">unverified</span>`
        : html`<strong>${grant.name}</strong>`;
  const label = grant.name ?? grant.clientId;
  return html`<li class="grant" data-client-id="${grant.clientId}">
    <p>${title}</p>
    ${grant.unverified ? html`<p class="muted">Its name is its own description: Gatehouse has not verified it. Identified by <code>${grant.clientId}</code>.</p>` : raw('')}
    ${
      grant.scopes.length === 0
        ? raw('')
        : html`<ul class="scopes">
            ${grant.scopes.map((s) => html`<li>${SCOPE_WORDS[s] ?? s}</li>`)}
          </ul>`
    }
    ${grant.resources.map(
      (r) =>
        html`<p class="resource">
          ${agent ? 'May act for you at' : 'Access to'}
          <code>${r.uri}</code>${r.scopes.length === 0 ? '' : html`: ${r.scopes.join(', ')}`}
        </p>`,
    )}
    <p class="muted">
      Last used: ${grant.lastUsedAt === null ? 'not known' : when(grant.lastUsedAt)}.
      ${grant.deviceBound ? 'Bound to a device key.' : 'Not bound to a device key.'}
    </p>
    <form method="post" action="/e/${environment}/account/revoke">
      <input type="hidden" name="_csrf" value="${csrf}" />
      <input type="hidden" name="client_id" value="${grant.clientId}" />
      <button type="submit" class="secondary" aria-label="Revoke ${label}">Revoke</button>
    </form>
  </li>`;
}

function sessionItem(environment: string, csrf: string, session: AccountPageSession): Raw {
  return html`<li class="session${session.current ? ' current' : ''}">
    <p>
      Signed in
      ${when(session.createdAt)}${session.current ? html` — <strong>this browser</strong>` : ''}
    </p>
    <p class="muted">Ends by ${when(session.expiresAt)} at the latest.</p>
    <form method="post" action="/e/${environment}/account/sessions/end">
      <input type="hidden" name="_csrf" value="${csrf}" />
      <input type="hidden" name="session" value="${session.handle}" />
      <button type="submit" class="secondary">Sign out${session.current ? '' : ' there'}</button>
    </form>
  </li>`;
}

/** The end user's own page: what acts for them and where they are signed in, each revocable. */
export function accountPage(options: {
  readonly environment: string;
  readonly email: string;
  readonly csrf: string;
  readonly applications: readonly AccountPageGrant[];
  readonly agents: readonly AccountPageGrant[];
  readonly sessions: readonly AccountPageSession[];
  readonly notice?: AccountNotice;
}): string {
  const { environment, csrf } = options;
  return page(
    'Your account',
    html`<h1>Your account</h1>
      <p id="account">Signed in as <strong>${options.email}</strong>.</p>
      ${options.notice === undefined ? raw('') : html`<p role="status" id="notice">${NOTICES[options.notice]}</p>`}
      <section aria-labelledby="applications">
        <h2 id="applications">Applications with access</h2>
        ${
          options.applications.length === 0
            ? html`<p class="muted">None.</p>`
            : html`<ul class="grants">
                ${options.applications.map((g) => grantItem(environment, csrf, g, false))}
              </ul>`
        }
      </section>
      <section aria-labelledby="agents">
        <h2 id="agents">Agents acting for you</h2>
        ${
          options.agents.length === 0
            ? html`<p class="muted">None.</p>`
            : html`<ul class="grants">
                ${options.agents.map((g) => grantItem(environment, csrf, g, true))}
              </ul>`
        }
      </section>
      <section aria-labelledby="sessions">
        <h2 id="sessions">Where you are signed in</h2>
        <ul class="sessions">
          ${options.sessions.map((s) => sessionItem(environment, csrf, s))}
        </ul>
      </section>
      <p class="muted">Environment: ${environment}</p>`,
  );
}
