import { html, page, raw, type Raw } from '../http/html.js';
import { describeDestination } from './destination.js';
import { unverifiedWarning } from './pages.js';

/** What the sign-out request carries through the confirmation form, checked again on submit. */
export interface LogoutFormFields {
  readonly client_id?: string;
  readonly post_logout_redirect_uri?: string;
  readonly state?: string;
}

/** A client that registered itself or is described by its own document (pages.ts). */
type Unverified = { readonly kind: 'dynamic' | 'metadata_document'; readonly identity: string };

/**
 * A return address offered as a link rather than followed (RFC 9700 §4.11.2): where it leads in
 * words, and whose claim it is when a self-registered client registered it.
 */
export interface ReturnLink {
  readonly href: string;
  /** The application's name, when the request named a client. */
  readonly clientName?: string;
  readonly unverified?: Unverified;
}

/**
 * RP-Initiated Logout 1.0 §2 and §6: without a valid id_token_hint naming this browser's user,
 * the request could come from any page, so the user is asked before being signed out.
 */
export function logoutConfirmPage(options: {
  environment: string;
  csrf: string;
  /** The signed-in user, when there is one. */
  email: string;
  /** The application that asked, when it is known. */
  clientName: string | null;
  /**
   * A client that registered itself (RFC 7591) or is described by its own document: its name is
   * its own claim, so it is not shown as Gatehouse's word (as on the consent page).
   */
  unverified?: Unverified;
  /** The return address will be a link on the next page, not a redirect (endpoint's policy). */
  returnByLink?: boolean;
  fields: LogoutFormFields;
}): string {
  const { clientName, unverified, fields } = options;
  const asker =
    clientName === null
      ? html`<p>An application asked to sign you out.</p>`
      : unverified === undefined
        ? html`<p><strong>${clientName}</strong> asked to sign you out.</p>`
        : html`<p>An application calling itself “${clientName}” asked to sign you out.</p>
            ${unverifiedWarning(unverified, 'Sign out')}`;
  // Either button leads there (a link back when staying): the user can check it first.
  const destination =
    fields.post_logout_redirect_uri === undefined
      ? raw('')
      : html`<p id="destination">
          ${options.returnByLink === true ? 'Afterwards you will be offered a link to' : 'Afterwards you will be sent to'}
          <strong>${describeDestination(fields.post_logout_redirect_uri)}</strong>.
        </p>`;
  return page(
    'Sign out?',
    html`<h1>Sign out of Gatehouse?</h1>
      <p id="account">You are signed in as <strong>${options.email}</strong>.</p>
      ${asker}
      <p class="muted">
        Signing out ends your Gatehouse session in this browser; applications you signed in to with
        it may sign you out too.
      </p>
      ${destination}
      <form method="post" action="/e/${options.environment}/logout/confirm">
        <input type="hidden" name="_csrf" value="${options.csrf}" />
        ${hidden(fields)}
        <button type="submit" name="decision" value="logout">Sign out</button>
        <button type="submit" name="decision" value="stay" class="secondary">Stay signed in</button>
      </form>`,
  );
}

/**
 * After a sign-out with no post_logout_redirect_uri to go to (RP-Initiated Logout §3), or with
 * one the server will not follow on its own (§3 lets the OP show a page instead): then a link.
 */
export function signedOutPage(returnTo?: ReturnLink): string {
  return page(
    'Signed out',
    html`<h1>You are signed out</h1>
      <p>Your Gatehouse session in this browser has ended. You can close this page.</p>
      ${returnTo === undefined ? raw('') : returnLink(returnTo)}`,
  );
}

/** The user chose to stay signed in; a link back to the application when it gave one. */
export function stillSignedInPage(returnTo: ReturnLink | undefined): string {
  return page(
    'Still signed in',
    html`<h1>You are still signed in</h1>
      <p>Nothing was changed.</p>
      ${returnTo === undefined ? raw('') : returnLink(returnTo)}`,
  );
}

/** The link, named by where it leads (pages/destination.ts), flagged when it is a client's claim. */
function returnLink(returnTo: ReturnLink): Raw {
  return html`${returnTo.unverified === undefined ? raw('') : unverifiedWarning(returnTo.unverified, 'Follow the link')}
    <p id="return">
      ${
        returnTo.clientName === undefined
          ? 'The application'
          : returnTo.unverified === undefined
            ? html`<strong>${returnTo.clientName}</strong>`
            : html`An application calling itself “${returnTo.clientName}”`
      }
      asked to send you on to
      <strong>${describeDestination(returnTo.href)}</strong>:
      <a href="${returnTo.href}">continue to ${describeDestination(returnTo.href)}</a>
    </p>`;
}

function hidden(fields: LogoutFormFields): Raw {
  return html`${Object.entries(fields)
    .filter((entry): entry is [string, string] => typeof entry[1] === 'string')
    .map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}" />`)}`;
}
