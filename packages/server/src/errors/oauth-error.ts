import { errorPage, type OperatorDetail } from '../pages/pages.js';

/** The JSON body of every protocol error (RFC 6749 §5.2; the same shape in RFC 6750 §3, RFC 7591 §3.2.2, RFC 8628 §3.5). */
export interface OAuthErrorBody {
  readonly error: string;
  readonly error_description: string;
}

/**
 * A protocol error. Each one knows its RFC code, its HTTP status, whether it may be sent to the
 * client's redirect URI, and how it is rendered: as a JSON body, as `WWW-Authenticate` and
 * other headers, and as a page for a browser that cannot be sent back to the client. Handlers
 * throw these; the error handler sends them. Anything else becomes a 500 that exposes nothing.
 */
export class OAuthError extends Error {
  /** What an operator needs to fix the request; shown on the error page in development only. */
  readonly operatorDetail?: OperatorDetail | undefined;

  constructor(
    /** The RFC error code. */
    readonly code: string,
    /** Shown to the client as `error_description`: must never contain secrets or internals. */
    readonly description: string,
    readonly status: number,
    /**
     * Whether the error may be sent to the client's redirect URI (RFC 6749 §4.1.2.1): not when
     * the client or redirect URI is in doubt, nor for errors only the token endpoint answers.
     */
    readonly redirectable: boolean,
  ) {
    super(description);
    this.name = new.target.name;
  }

  /** The JSON body (RFC 6749 §5.2). */
  json(): OAuthErrorBody {
    return { error: this.code, error_description: this.description };
  }

  /**
   * The `WWW-Authenticate` value this error asks for, given the request's `Authorization` header
   * (the scheme the client tried decides the challenge); undefined when none is due.
   */
  // eslint-disable-next-line @typescript-eslint/no-unused-vars -- subclasses read it (InvalidClient)
  challenge(authorization: string | undefined): string | undefined {
    return undefined;
  }

  /** Every header of the error response besides the body's type. */
  headers(authorization: string | undefined): Record<string, string> {
    const challenge = this.challenge(authorization);
    return {
      ...(challenge === undefined ? {} : { 'WWW-Authenticate': challenge }),
      // RFC 6749 §5.1, RFC 6750 §5.3: nothing about a refused credential may be cached.
      'Cache-Control': 'no-store',
    };
  }

  /**
   * The page shown in the browser when the error is not redirected: the end user reads the
   * description; in development the operator also reads the detail.
   */
  page(development: boolean): string {
    return errorPage(
      'Sign-in stopped',
      this.description,
      development ? this.operatorDetail : undefined,
    );
  }
}
