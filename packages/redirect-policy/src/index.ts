export { validateRedirectUri, type RedirectUriKind, type ValidationResult } from './validate.js';
export { matchRedirectUri, type MatchOptions, type MatchResult, type MatchVia } from './match.js';
export type { DiffKind, RedirectUriDiff } from './explain.js';
export { lintRedirectUris, type LintWarning } from './lint.js';
export { LintCode, MatchCode, MAX_REDIRECT_URI_LENGTH, ValidationCode } from './codes.js';
export {
  environmentTier,
  type ClientType,
  type Environment,
  type EnvironmentTier,
  type PolicyContext,
} from './context.js';
export { LOOPBACK_HOSTS, type LoopbackHost, type UriComponent } from './uri-text.js';
