import type { AuthorizeStep } from './state.js';
import { checkClient } from './steps/check-client.js';
import { checkDpopJkt } from './steps/check-dpop-jkt.js';
import { checkGrantType } from './steps/check-grant-type.js';
import { checkMaxAge } from './steps/check-max-age.js';
import { checkParRequired } from './steps/check-par-required.js';
import { checkPkce } from './steps/check-pkce.js';
import { checkPrompt } from './steps/check-prompt.js';
import { checkRedirectUri, countRedirectRequest } from './steps/check-redirect-uri.js';
import { checkRequestObject } from './steps/check-request-object.js';
import { checkResponseMode } from './steps/check-response-mode.js';
import { checkResponseType } from './steps/check-response-type.js';
import { checkScopeAndResource } from './steps/check-scope-and-resource.js';
import { readParameters } from './steps/read-parameters.js';
import { usePushedRequest } from './steps/use-pushed-request.js';

/**
 * The checks of the request itself once its client and redirect URI are known: /authorize runs
 * them on every request, the PAR endpoint on what is pushed (RFC 9126 §2.1: "the authorization
 * server MUST validate the pushed request as it would an authorization request"). The order
 * decides which error a request with several faults gets.
 */
export const REQUEST_CHECKS: readonly AuthorizeStep[] = [
  checkResponseType, // RFC 6749 §4.1.1, OAuth 2.1 §4.1.1
  checkResponseMode, // OAuth 2.0 Multiple Response Types §2.1: query only
  checkRequestObject, // OIDC Core §6
  checkPkce, // RFC 7636 §4.3, OAuth 2.1 §4.1.1
  checkPrompt, // OIDC Core §3.1.2.1
  checkMaxAge, // OIDC Core §3.1.2.1
  checkGrantType, // RFC 6749 §4.1.2.1 unauthorized_client
  checkScopeAndResource, // RFC 8707 §2, RFC 6749 §3.3
  checkDpopJkt, // RFC 9449 §10
];

/** What the PAR endpoint checks of a pushed request, its client authenticated (RFC 9126 §2.1). */
export const PUSH_CHECKS: readonly AuthorizeStep[] = [
  checkRedirectUri, // RFC 9126 §2.1: the redirect policy at push time
  ...REQUEST_CHECKS,
];

/**
 * The authorization request's checks, in order. Until check-redirect-uri passes, the client and
 * its redirect URI are in doubt and an error is a page (RFC 6749 §4.1.2.1); after it, errors go
 * back to the client.
 */
export const AUTHORIZE_STEPS: readonly AuthorizeStep[] = [
  readParameters, // RFC 6749 §3.1
  checkClient, // RFC 6749 §4.1.1, §4.1.2.1
  usePushedRequest, // RFC 9126 §4
  checkRedirectUri, // RFC 6749 §4.1.2.1, OAuth 2.1 §2.3
  countRedirectRequest, // issue #18: the inventory's request count (once, PAR or not)
  checkParRequired, // RFC 9126 §5, §6
  ...REQUEST_CHECKS,
];
