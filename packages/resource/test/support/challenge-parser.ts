/**
 * A strict parser for one RFC 9110 §11.6.1 challenge, to check what the library writes:
 * `auth-scheme 1*SP auth-param *( OWS "," OWS auth-param )`, values as token or quoted-string.
 * Anything off-grammar throws.
 */
const TCHAR = /[!#$%&'*+.^_`|~0-9A-Za-z-]/;

export interface Challenge {
  readonly scheme: string;
  readonly params: ReadonlyMap<string, string>;
}

/** One challenge: the whole value must be exactly one. */
export function parseChallenge(value: string): Challenge {
  const challenges = parseChallenges(value);
  if (challenges.length !== 1)
    throw new Error(`expected one challenge, got ${challenges.length} in ${value}`);
  return challenges[0] as Challenge;
}

/**
 * A `WWW-Authenticate` value holding one or more challenges, comma-separated (RFC 9110 §11.6.1:
 * `#challenge`). After a comma, a token followed by `=` is another parameter; a token followed by
 * a space or the end starts the next challenge.
 */
export function parseChallenges(value: string): Challenge[] {
  let i = 0;
  const token = (): string => {
    const start = i;
    while (i < value.length && TCHAR.test(value.charAt(i))) i++;
    if (i === start) throw new Error(`expected a token at ${i} in ${value}`);
    return value.slice(start, i);
  };
  const ows = () => {
    while (value.charAt(i) === ' ' || value.charAt(i) === '\t') i++;
  };
  const quoted = (): string => {
    i++; // opening DQUOTE
    let out = '';
    for (;;) {
      if (i >= value.length) throw new Error(`unterminated quoted-string in ${value}`);
      const char = value.charAt(i);
      const code = char.charCodeAt(0);
      if (char === '"') {
        i++;
        return out;
      }
      if (char === '\\') {
        const next = value.charAt(i + 1);
        const nextCode = next.charCodeAt(0);
        if (!(next === '\t' || (nextCode >= 0x20 && nextCode <= 0x7e) || nextCode >= 0x80))
          throw new Error(`bad quoted-pair at ${i} in ${value}`);
        out += next;
        i += 2;
        continue;
      }
      // qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text
      if (!(char === '\t' || (code >= 0x20 && code <= 0x7e) || code >= 0x80))
        throw new Error(`bad qdtext at ${i} in ${value}`);
      out += char;
      i++;
    }
  };

  const challenges: Challenge[] = [];
  let scheme = token();
  let params = new Map<string, string>();
  const finish = () => {
    challenges.push({ scheme, params });
    return challenges;
  };
  if (i === value.length) return finish();
  if (value.charAt(i) !== ' ') {
    if (value.charAt(i) !== ',') throw new Error(`expected SP after the scheme in ${value}`);
  } else while (value.charAt(i) === ' ') i++;
  for (;;) {
    if (value.charAt(i) === ',') {
      // A challenge without parameters, followed by another.
      i++;
      ows();
      challenges.push({ scheme, params });
      scheme = token();
      params = new Map();
      if (i === value.length) return finish();
      while (value.charAt(i) === ' ') i++;
      continue;
    }
    const name = token();
    const afterName = i;
    ows();
    if (value.charAt(i) !== '=') {
      // The token was the next challenge's scheme.
      if (i !== afterName || i === value.length || value.charAt(i) === ',') {
        challenges.push({ scheme, params });
        scheme = name;
        params = new Map();
        if (i === value.length) return finish();
        continue;
      }
      throw new Error(`expected = at ${i} in ${value}`);
    }
    i++;
    ows();
    const paramValue = value.charAt(i) === '"' ? quoted() : token();
    const key = name.toLowerCase();
    // RFC 9110 §11.2: each parameter name MUST only occur once per challenge.
    if (params.has(key)) throw new Error(`parameter ${key} twice in ${value}`);
    params.set(key, paramValue);
    ows();
    if (i === value.length) return finish();
    if (value.charAt(i) !== ',') throw new Error(`expected , at ${i} in ${value}`);
    i++;
    ows();
  }
}
