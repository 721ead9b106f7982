import { createOperator } from '../../src/services/operators.js';
import type { OperatorRole } from '../../src/storage/operators.js';
import { CookieJar, type TestServer } from './server.js';

export interface ApiReply {
  readonly status: number;
  readonly body: Record<string, unknown> & { error?: string; message?: string };
}

/** An operator's session against the admin API, as the console holds it. */
export class AdminSession {
  csrfToken = '';

  /** Pass a browser's jar to act in that browser (the impersonation cookie lands there). */
  constructor(
    private readonly base: string,
    readonly jar: CookieJar = new CookieJar(),
  ) {}

  async signIn(email: string, password: string): Promise<ApiReply> {
    const reply = await this.call('POST', '/session', { email, password });
    if (reply.status === 200) this.csrfToken = reply.body.csrfToken as string;
    return reply;
  }

  async call(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<ApiReply> {
    const response = await fetch(`${this.base}/admin/api${path}`, {
      method,
      redirect: 'manual',
      headers: {
        cookie: this.jar.header(),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(method === 'GET' || this.csrfToken === ''
          ? {}
          : { 'x-gatehouse-csrf': this.csrfToken }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    this.jar.store(response);
    const text = await response.text();
    return {
      status: response.status,
      body: (text === '' ? {} : JSON.parse(text)) as ApiReply['body'],
    };
  }
}

export const OPERATOR_PASSWORD = 'operator pass phrase 1';

/** Creates an operator and signs them in. */
export async function operatorSession(
  t: TestServer,
  email: string,
  role: OperatorRole,
  jar?: CookieJar,
): Promise<{ session: AdminSession; id: string }> {
  const operator = await createOperator(t.ctx, { email, role, password: OPERATOR_PASSWORD });
  const session = new AdminSession(t.url, jar);
  const reply = await session.signIn(email, OPERATOR_PASSWORD);
  if (reply.status !== 200) throw new Error(`sign-in failed: ${JSON.stringify(reply.body)}`);
  return { session, id: operator.id };
}
