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

export function parseChallenge(value: string): Challenge {
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

  const scheme = token();
  const params = new Map<string, string>();
  if (i === value.length) return { scheme, params };
  if (value.charAt(i) !== ' ') throw new Error(`expected SP after the scheme in ${value}`);
  while (value.charAt(i) === ' ') i++;
  for (;;) {
    const name = token().toLowerCase();
    ows();
    if (value.charAt(i) !== '=') throw new Error(`expected = at ${i} in ${value}`);
    i++;
    ows();
    const paramValue = value.charAt(i) === '"' ? quoted() : token();
    // RFC 9110 §11.2: each parameter name MUST only occur once per challenge.
    if (params.has(name)) throw new Error(`parameter ${name} twice in ${value}`);
    params.set(name, paramValue);
    ows();
    if (i === value.length) return { scheme, params };
    if (value.charAt(i) !== ',') throw new Error(`expected , at ${i} in ${value}`);
    i++;
    ows();
  }
}
