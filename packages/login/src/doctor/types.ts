/** ok: works; warn: works, but a reviewer should look; fail: the loopback flow would not work; skip: not run. */
export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

export type CheckGroup = 'listener' | 'interception' | 'server';

/** One line of the doctor's report. */
export interface Check {
  /** Stable, for programs: `listener.127.0.0.1`, `proxy`, `browser.round_trip`, `server.pkce`, ... */
  readonly id: string;
  readonly group: CheckGroup;
  readonly status: CheckStatus;
  /** One sentence for a person. */
  readonly summary: string;
  /** Facts for programs: an errno, the addresses a name resolves to, a duration. */
  readonly data?: Readonly<Record<string, unknown>>;
}

export type Fallback = '--device' | '--no-browser';

export interface DoctorVerdict {
  /** Whether `gatehouse login` (the loopback flow, browser opened here) would work. */
  readonly loopbackWorks: boolean;
  /** What to use instead where it would not: the device grant where the server offers it, else paste mode. */
  readonly fallback: Fallback | null;
  /** The failed checks' summaries, one line each. */
  readonly reasons: readonly string[];
}

export interface DoctorReport {
  readonly format: 'gatehouse-login-doctor/1';
  readonly generatedAt: string;
  readonly platform: string;
  readonly node: string;
  /** The redirect URI `login` would use: its host, and its port where one is fixed. */
  readonly login: {
    readonly host: string;
    readonly port: number | null;
    readonly redirectUri: string;
  };
  readonly issuer: string | null;
  readonly clientId: string | null;
  readonly checks: readonly Check[];
  readonly verdict: DoctorVerdict;
}
