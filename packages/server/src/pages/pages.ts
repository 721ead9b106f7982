import { html, page, raw, type Raw } from '../http/html.js';

export interface OperatorDetail {
  readonly message: string;
  readonly requested?: string;
  readonly closest?: string;
  readonly expected?: string;
  readonly index?: number;
}

/** The page an end user sees when a request cannot be trusted. Operators get the why in development. */
export function errorPage(title: string, userMessage: string, detail?: OperatorDetail): string {
  const diff =
    detail?.requested !== undefined && detail.expected !== undefined && detail.index !== undefined
      ? html`<pre>requested  ${detail.requested.slice(0, detail.index)}<mark>${detail.requested.slice(detail.index)}</mark>
expected   ${detail.expected.slice(0, detail.index)}<mark>${detail.expected.slice(detail.index)}</mark></pre>`
      : raw('');
  const forOperators =
    detail === undefined
      ? raw('')
      : html`<section aria-labelledby="dev">
          <h2 id="dev">For the developer (shown in development only)</h2>
          <p>${detail.message}</p>
          ${detail.closest === undefined ? raw('') : html`<p>Closest registered redirect URI: <code>${detail.closest}</code></p>`}
          ${diff}
        </section>`;
  return page(
    title,
    html`<h1>${title}</h1>
      <p class="error" role="alert">${userMessage}</p>
      <p class="muted">You can close this page and return to the application.</p>
      ${forOperators}`,
  );
}

export function loginPage(options: {
  environment: string;
  clientName: string | null;
  csrf: string;
  interaction: string;
  email?: string;
  error?: string;
  /** Where the form posts; default the environment's login endpoint. */
  action?: string;
  hidden?: Readonly<Record<string, string>>;
}): string {
  return page(
    'Sign in',
    html`<h1>Sign in</h1>
      ${options.clientName === null ? raw('') : html`<p>to continue to <strong>${options.clientName}</strong></p>`}
      ${options.error === undefined ? raw('') : html`<p class="error" role="alert" id="login-error">${options.error}</p>`}
      <form method="post" action="${options.action ?? `/e/${options.environment}/login`}">
        <input type="hidden" name="_csrf" value="${options.csrf}" />
        ${options.interaction === '' ? raw('') : html`<input type="hidden" name="interaction" value="${options.interaction}" />`}
        ${hiddenFields(options.hidden)}
        <label for="email">Email</label>
        <input
          id="email"
          name="email"
          type="email"
          autocomplete="username"
          required
          value="${options.email ?? ''}"
          ${options.error === undefined ? raw('') : raw('aria-describedby="login-error"')}
        />
        <label for="password">Password</label>
        <input
          id="password"
          name="password"
          type="password"
          autocomplete="current-password"
          required
        />
        <button type="submit">Sign in</button>
      </form>
      <p class="muted">Environment: ${options.environment}</p>`,
  );
}

export function consentPage(options: {
  environment: string;
  clientName: string;
  scopes: readonly string[];
  redirectHost: string;
  loopback: boolean;
  csrf: string;
  interaction: string;
  email: string;
  action?: string;
  hidden?: Readonly<Record<string, string>>;
  /** The RFC 8707 resource the access is for: named, so consent for one is not taken for another. */
  resource?: { readonly uri: string; readonly name: string | null };
  /** A client that registered itself (RFC 7591) or is described by a document it serves. */
  unverified?: { readonly kind: 'dynamic' | 'metadata_document'; readonly identity: string };
  /**
   * Incremental authorization: scopes of this request the user allowed this client before; then
   * `scopes` holds only the new ones (authorization/incremental-consent.ts).
   */
  alreadyGranted?: readonly string[];
}): string {
  const describe: Record<string, string> = {
    openid: 'Confirm who you are',
    profile: 'See your name',
    email: 'See your email address',
    offline_access: 'Stay signed in when you are not using it',
  };
  // Own words only: a resource's scope may be named `constructor` or `toString`, which every
  // object inherits (the page failed on the function it found).
  const words = (s: string): string => (Object.hasOwn(describe, s) ? (describe[s] ?? s) : s);
  const items: Raw[] = options.scopes.map((s) => html`<li>${words(s)}</li>`);
  const granted: Raw[] = (options.alreadyGranted ?? []).map((s) => html`<li>${words(s)}</li>`);
  // A self-registered client's name is its own claim: say so, and show what identifies it.
  const heading =
    options.unverified === undefined
      ? html`<h1><strong>${options.clientName}</strong> wants to access your account</h1>`
      : html`<h1>
            An application calling itself “${options.clientName}” wants to access your account
          </h1>
          ${unverifiedWarning(options.unverified, 'Allow')}`;
  return page(
    'Allow access',
    html`${heading}
      <p>Signed in as ${options.email}.</p>
      ${
        options.resource === undefined
          ? raw('')
          : html`<p id="resource">
              Access is for
              ${options.resource.name === null ? raw('') : html`<strong>${options.resource.name}</strong>`}
              <code>${options.resource.uri}</code>.
            </p>`
      }
      ${
        granted.length === 0
          ? raw('')
          : html`<p id="more-access">It asks for more than you allowed it before. New:</p>`
      }
      ${
        items.length === 0
          ? html`<p>It asks for no particular permissions.</p>`
          : html`<ul class="scopes" id="asked-scopes">
              ${items}
            </ul>`
      }
      ${
        granted.length === 0
          ? raw('')
          : html`<p class="muted">Already allowed, and kept:</p>
              <ul class="scopes muted" id="granted-scopes">
                ${granted}
              </ul>`
      }
      <p>
        ${options.loopback ? html`After you decide, you will be sent back to <strong>an application on this computer</strong> (${options.redirectHost}).` : html`After you decide, you will be sent back to <strong>${options.redirectHost}</strong>.`}
      </p>
      <form method="post" action="${options.action ?? `/e/${options.environment}/consent`}">
        <input type="hidden" name="_csrf" value="${options.csrf}" />
        ${options.interaction === '' ? raw('') : html`<input type="hidden" name="interaction" value="${options.interaction}" />`}
        ${hiddenFields(options.hidden)}
        <button type="submit" name="decision" value="allow">Allow</button>
        <button type="submit" name="decision" value="deny" class="secondary">Deny</button>
      </form>`,
  );
}

/** A self-registered client's name is its own claim: say so, and show what identifies it. */
export function unverifiedWarning(
  unverified: { readonly kind: 'dynamic' | 'metadata_document'; readonly identity: string },
  verb: 'Allow' | 'Continue' | 'Sign out' | 'Follow the link',
): Raw {
  return html`<p class="warning" id="unverified">
    Gatehouse has not verified this application: its name is its own description.
    ${
      unverified.kind === 'metadata_document'
        ? html`It identifies itself by <code>${unverified.identity}</code>.`
        : html`It registered itself (client ID <code>${unverified.identity}</code>).`
    }
    ${
      verb === 'Follow the link'
        ? 'Follow the link only if you expected to go back to this application.'
        : `${verb} only if you started this sign-in yourself.`
    }
  </p>`;
}

/**
 * RFC 8252 §8.6: a public client's request, though signed in and consented to before, is
 * confirmed by the user each time, because any program can send that client's ID. One click,
 * naming the application, the account and where the browser will be sent.
 */
export function confirmPage(options: {
  environment: string;
  clientName: string;
  email: string;
  /** Where the browser goes next, in words (pages/destination.ts). */
  destination: string;
  csrf: string;
  interaction: string;
  unverified?: { readonly kind: 'dynamic' | 'metadata_document'; readonly identity: string };
}): string {
  const name = options.unverified === undefined ? options.clientName : `“${options.clientName}”`;
  return page(
    `Continue to ${name}?`,
    html`${
        options.unverified === undefined
          ? html`<h1>Continue to <strong>${options.clientName}</strong>?</h1>`
          : html`<h1>Continue to an application calling itself “${options.clientName}”?</h1>
              ${unverifiedWarning(options.unverified, 'Continue')}`
      }
      <p id="account">Signed in as <strong>${options.email}</strong>.</p>
      <p id="destination">You will be sent to <strong>${options.destination}</strong>.</p>
      <p class="muted">
        Continue only if you started this sign-in yourself just now: any program can ask to sign in
        as this application.
      </p>
      <form method="post" action="/e/${options.environment}/confirm">
        <input type="hidden" name="_csrf" value="${options.csrf}" />
        <input type="hidden" name="interaction" value="${options.interaction}" />
        <button type="submit" name="decision" value="allow">Continue to ${name}</button>
        <button type="submit" name="decision" value="deny" class="secondary">Cancel</button>
      </form>`,
  );
}

function hiddenFields(fields: Readonly<Record<string, string>> | undefined): Raw {
  return html`${Object.entries(fields ?? {}).map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}" />`)}`;
}

/** RFC 8628 §3.3: where the user types the code their device shows. */
export function deviceCodePage(options: {
  environment: string;
  csrf: string;
  userCode?: string;
  error?: string;
}): string {
  return page(
    'Connect a device',
    html`<h1>Connect a device</h1>
      <p>Enter the code shown on your device or in your terminal.</p>
      ${options.error === undefined ? raw('') : html`<p class="error" role="alert" id="code-error">${options.error}</p>`}
      <form method="post" action="/e/${options.environment}/device">
        <input type="hidden" name="_csrf" value="${options.csrf}" />
        <label for="user_code">Code</label>
        <input
          id="user_code"
          name="user_code"
          type="text"
          autocomplete="off"
          autocapitalize="characters"
          spellcheck="false"
          required
          value="${options.userCode ?? ''}"
        />
        <button type="submit">Continue</button>
      </form>
      <p class="muted">Environment: ${options.environment}</p>`,
  );
}

export function deviceDonePage(approved: boolean): string {
  return page(
    approved ? 'Device connected' : 'Request denied',
    html`<h1>${approved ? 'Device connected' : 'Request denied'}</h1>
      <p>
        ${approved ? 'You can return to your device or terminal: it is signing in now.' : 'The device was not given access. You can close this page.'}
      </p>`,
  );
}
