import { InvalidRequest } from '../../../errors.js';
import { scopeList } from '../../../protocol.js';
import type { AuthorizeState } from '../state.js';

const PROMPTS = ['none', 'login', 'consent'];

/**
 * check-prompt: OIDC Core §3.1.2.1: a space-separated list; Gatehouse knows none, login and
 * consent, and `none` MUST NOT be combined with any other value.
 */
export function checkPrompt(state: AuthorizeState): void {
  const prompt = scopeList(state.params.prompt);
  if (prompt.some((p) => !PROMPTS.includes(p)))
    throw new InvalidRequest('prompt may be none, login or consent');
  if (prompt.includes('none') && prompt.length > 1)
    throw new InvalidRequest('prompt=none cannot be combined with other values');
  state.prompt = prompt;
}
