/**
 * Generated from the admin API's OpenAPI document (/admin/api/openapi.json) by
 * packages/console/scripts/api-types.ts. Do not edit: run `npx tsx packages/console/scripts/api-types.ts`.
 */
export interface paths {
  readonly '/session': {
    readonly parameters: {
      readonly query?: never;
      readonly header?: never;
      readonly path?: never;
      readonly cookie?: never;
    };
    /** The signed-in operator and the CSRF token for changes */
    readonly get: {
      readonly parameters: {
        readonly query?: never;
        readonly header?: never;
        readonly path?: never;
        readonly cookie?: never;
      };
      readonly requestBody?: never;
      readonly responses: {
        /** @description Default Response */
        readonly 200: {
          headers: {
            readonly [name: string]: unknown;
          };
          content: {
            readonly 'application/json': components['schemas']['Session'];
          };
        };
      };
    };
    readonly put?: never;
    /** Sign in as an operator */
    readonly post: {
      readonly parameters: {
        readonly query?: never;
        readonly header?: never;
        readonly path?: never;
        readonly cookie?: never;
      };
      readonly requestBody: {
        readonly content: {
          readonly 'application/json': {
            readonly email: string;
            readonly password: string;
          };
        };
      };
      readonly responses: {
        /** @description Default Response */
        readonly 200: {
          headers: {
            readonly [name: string]: unknown;
          };
          content: {
            readonly 'application/json': components['schemas']['Session'];
          };
        };
      };
    };
    /** Sign out */
    readonly delete: {
      readonly parameters: {
        readonly query?: never;
        readonly header?: never;
        readonly path?: never;
        readonly cookie?: never;
      };
      readonly requestBody?: never;
      readonly responses: {
        /** @description Default Response */
        readonly 200: {
          headers: {
            readonly [name: string]: unknown;
          };
          content?: never;
        };
      };
    };
    readonly options?: never;
    readonly head?: never;
    readonly patch?: never;
    readonly trace?: never;
  };
  readonly '/environments': {
    readonly parameters: {
      readonly query?: never;
      readonly header?: never;
      readonly path?: never;
      readonly cookie?: never;
    };
    /** All environments, side by side */
    readonly get: {
      readonly parameters: {
        readonly query?: never;
        readonly header?: never;
        readonly path?: never;
        readonly cookie?: never;
      };
      readonly requestBody?: never;
      readonly responses: {
        /** @description Default Response */
        readonly 200: {
          headers: {
            readonly [name: string]: unknown;
          };
          content: {
            readonly 'application/json': {
              readonly environments: readonly components['schemas']['Environment'][];
            };
          };
        };
      };
    };
    readonly put?: never;
    /** Create an environment (its own issuer, with its own signing key) */
    readonly post: {
      readonly parameters: {
        readonly query?: never;
        readonly header?: never;
        readonly path?: never;
        readonly cookie?: never;
      };
      readonly requestBody: {
        readonly content: {
          readonly 'application/json': {
            readonly name: string;
            /** @enum {string} */
            readonly tier: 'development' | 'staging' | 'production';
          };
        };
      };
      readonly responses: {
        /** @description Default Response */
        readonly 201: {
          headers: {
            readonly [name: string]: unknown;
          };
          content: {
            readonly 'application/json': {
              readonly environment: components['schemas']['Environment'];
            };
          };
        };
      };
    };
    readonly delete?: never;
    readonly options?: never;
    readonly head?: never;
    readonly patch?: never;
    readonly trace?: never;
  };
  readonly '/environments/{env}': {
    readonly parameters: {
      readonly query?: never;
      readonly header?: never;
      readonly path?: never;
      readonly cookie?: never;
    };
    readonly get?: never;
    readonly put?: never;
    readonly post?: never;
    readonly delete?: never;
    readonly options?: never;
    readonly head?: never;
    /** Change environment settings: impersonation, dynamic registration, metadata-document clients, loopback metadata documents, pushed authorization requests required (RFC 9126 §5), DPoP required (RFC 9449), the refresh grace window (seconds, 0 to 60; 0: none), the loopback hosts redirect URIs may name (null: all three). With loopbackHosts, the answer lists the registrations the policy now refuses (they no longer match) */
    readonly patch: {
      readonly parameters: {
        readonly query?: never;
        readonly header?: never;
        readonly path: {
          readonly env: string;
        };
        readonly cookie?: never;
      };
      readonly requestBody: {
        readonly content: {
          readonly 'application/json': {
            readonly impersonationEnabled?: boolean;
            /** @enum {string} */
            readonly registration?: 'open' | 'token' | 'off';
            readonly allowLoopbackDocuments?: boolean;
            readonly metadataDocuments?: boolean;
            readonly requirePar?: boolean;
            readonly requireDpop?: boolean;
            /** @description seconds, a whole number from 0 (no grace) to 60 */
            readonly refreshGraceSeconds?: number;
            /** @description a non-empty list of 127.0.0.1, [::1], localhost; null: all three */
            readonly loopbackHosts?: readonly string[] | null;
          };
        };
      };
      readonly responses: {
        /** @description Default Response */
        readonly 200: {
          headers: {
            readonly [name: string]: unknown;
          };
          content: {
            readonly 'application/json': {
              readonly environment: components['schemas']['Environment'];
              readonly loopbackViolations?: readonly components['schemas']['LoopbackViolation'][];
            };
          };
        };
      };
    };
    readonly trace?: never;
  };
  readonly '/environments/{env}/initial-access-tokens': {
    readonly parameters: {
      readonly query?: never;
      readonly header?: never;
      readonly path?: never;
      readonly cookie?: never;
    };
    readonly get?: never;
    readonly put?: never;
    /** Issue an initial access token for dynamic registration (RFC 7591 §3); shown once */
    readonly post: {
      readonly parameters: {
        readonly query?: never;
        readonly header?: never;
        readonly path: {
          readonly env: string;
        };
        readonly cookie?: never;
      };
      readonly requestBody: {
        readonly content: {
          readonly 'application/json': {
            readonly expiresIn?: string;
          };
        };
      };
      readonly responses: {
        /** @description Default Response */
        readonly 201: {
          headers: {
            readonly [name: string]: unknown;
          };
          content: {
            readonly 'application/json': {
              readonly initialAccessToken: string;
              readonly expiresAt: number;
            };
          };
        };
      };
    };
    /** Revoke every initial access token of the environment */
    readonly delete: {
      readonly parameters: {
        readonly query?: never;
        readonly header?: never;
        readonly path: {
          readonly env: string;
        };
        readonly cookie?: never;
      };
      readonly requestBody?: never;
      readonly responses: {
        /** @description Default Response */
        readonly 200: {
          headers: {
            readonly [name: string]: unknown;
          };
          content: {
            readonly 'application/json': {
              readonly revoked: number;
            };
          };
        };
      };
    };
    readonly options?: never;
    readonly head?: never;
    readonly patch?: never;
    readonly trace?: never;
  };
  readonly '/environments/{env}/clients': {
    readonly parameters: {
      readonly query?: never;
      readonly header?: never;
      readonly path?: never;
      readonly cookie?: never;
    };
    /** An environment's clients */
    readonly get: {
      readonly parameters: {
        readonly query?: never;
        readonly header?: never;
        readonly path: {
          readonly env: string;
        };
        readonly cookie?: never;
      };
      readonly requestBody?: never;
      readonly responses: {
        /** @description Default Response */
        readonly 200: {
          headers: {
            readonly [name: string]: unknown;
          };
          content: {
            readonly 'application/json': {
              readonly clients: readonly components['schemas']['Client'][];
            };
          };
        };
      };
    };
    readonly put?: never;
    /** Register a client; a web client gets a secret (unless it uses private_key_jwt), shown once in this answer */
    readonly post: {
      readonly parameters: {
        readonly query?: never;
        readonly header?: never;
        readonly path: {
          readonly env: string;
        };
        readonly cookie?: never;
      };
      readonly requestBody: {
        readonly content: {
          readonly 'application/json': {
            readonly name: string;
            /** @enum {string} */
            readonly type: 'web' | 'native' | 'spa';
            readonly redirectUris?: readonly string[];
            readonly grantTypes?: readonly (
              | 'authorization_code'
              | 'refresh_token'
              | 'client_credentials'
              | 'urn:ietf:params:oauth:grant-type:device_code'
              | 'urn:ietf:params:oauth:grant-type:token-exchange'
            )[];
            readonly skipConsent?: boolean;
            readonly scopes?: readonly string[];
            /** @enum {string|null} */
            readonly idTokenSignedResponseAlg?: 'RS256' | 'ES256' | null;
            readonly postLogoutRedirectUris?: readonly string[];
            readonly backchannelLogoutUri?: string | null;
            readonly jwks?: {
              readonly keys: readonly {
                readonly [key: string]: unknown;
              }[];
            } | null;
            readonly jwksUri?: string | null;
            /** @enum {string|null} */
            readonly tokenEndpointAuthMethod?:
              'client_secret_basic' | 'client_secret_post' | 'private_key_jwt' | 'none' | null;
            readonly requirePar?: boolean;
            readonly pkceExemptWithNonce?: boolean;
            readonly requireDpop?: boolean;
          };
        };
      };
      readonly responses: {
        /** @description Default Response */
        readonly 201: {
          headers: {
            readonly [name: string]: unknown;
          };
          content: {
            readonly 'application/json': {
              readonly client: components['schemas']['Client'];
              readonly clientSecret?: string;
              readonly warnings: readonly components['schemas']['LintWarning'][];
            };
          };
        };
      };
    };
    readonly delete?: never;
    readonly options?: never;
    readonly head?: never;
    readonly patch?: never;
    readonly trace?: never;
  };
  readonly '/environments/{env}/clients/{clientId}': {
    readonly parameters: {
      readonly query?: never;
      readonly header?: never;
      readonly path?: never;
      readonly cookie?: never;
    };
    /** One client */
    readonly get: {
      readonly parameters: {
        readonly query?: never;
        readonly header?: never;
        readonly path: {
          readonly env: string;
          readonly clientId: string;
        };
        readonly cookie?: never;
      };
      readonly requestBody?: never;
      readonly responses: {
        /** @description Default Response */
        readonly 200: {
          headers: {
            readonly [name: string]: unknown;
          };
          content: {
            readonly 'application/json': {
              readonly client: components['schemas']['Client'];
            };
          };
        };
      };
    };
    readonly put?: never;
    readonly post?: never;
    /** Delete a client and revoke every token it holds */
    readonly delete: {
      readonly parameters: {
        readonly query?: never;
        readonly header?: never;
        readonly path: {
          readonly env: string;
          readonly clientId: string;
        };
        readonly cookie?: never;
      };
      readonly requestBody?: never;
      readonly responses: {
        /** @description Default Response */
        readonly 200: {
          headers: {
            readonly [name: string]: unknown;
          };
          content?: never;
        };
      };
    };
    readonly options?: never;
    readonly head?: never;
    /** Change a client; redirectUris replaces the whole list (through the policy). Switching away from private_key_jwt issues a secret, shown once in this answer */
    readonly patch: {
      readonly parameters: {
        readonly query?: never;
        readonly header?: never;
        readonly path: {
          readonly env: string;
          readonly clientId: string;
        };
        readonly cookie?: never;
      };
      readonly requestBody: {
        readonly content: {
          readonly 'application/json': {
            readonly name?: string;
            readonly grantTypes?: readonly (
              | 'authorization_code'
              | 'refresh_token'
              | 'client_credentials'
              | 'urn:ietf:params:oauth:grant-type:device_code'
              | 'urn:ietf:params:oauth:grant-type:token-exchange'
            )[];
            readonly skipConsent?: boolean;
            readonly redirectUris?: readonly string[];
            readonly exchangeAudiences?: readonly string[] | null;
            readonly allowedResources?: readonly string[] | null;
            readonly scopes?: readonly string[];
            /** @enum {string|null} */
            readonly idTokenSignedResponseAlg?: 'RS256' | 'ES256' | null;
            readonly postLogoutRedirectUris?: readonly string[];
            readonly backchannelLogoutUri?: string | null;
            readonly jwks?: {
              readonly keys: readonly {
                readonly [key: string]: unknown;
              }[];
            } | null;
            readonly jwksUri?: string | null;
            /** @enum {string|null} */
            readonly tokenEndpointAuthMethod?:
              'client_secret_basic' | 'client_secret_post' | 'private_key_jwt' | 'none' | null;
            readonly requirePar?: boolean;
            readonly pkceExemptWithNonce?: boolean;
            readonly requireDpop?: boolean;
          };
        };
      };
      readonly responses: {
        /** @description Default Response */
        readonly 200: {
          headers: {
            readonly [name: string]: unknown;
          };
          content: {
            readonly 'application/json': {
              readonly client: components['schemas']['Client'];
              readonly clientSecret?: string;
              readonly warnings: readonly components['schemas']['LintWarning'][];
            };
          };
        };
      };
    };
    readonly trace?: never;
  };
  readonly '/environments/{env}/clients/{clientId}/secret': {
    readonly parameters: {
      readonly query?: never;
      readonly header?: never;
      readonly path?: never;
      readonly cookie?: never;
    };
    readonly get?: never;
    readonly put?: never;
    /** Rotate a web client's secret; the new one is shown once in this answer */
    readonly post: {
      readonly parameters: {
        readonly query?: never;
        readonly header?: never;
        readonly path: {
          readonly env: string;
          readonly clientId: string;
        };
        readonly cookie?: never;
      };
      readonly requestBody?: never;
      readonly responses: {
        /** @description Default Response */
        readonly 200: {
          headers: {
            readonly [name: string]: unknown;
          };
          content: {
            readonly 'application/json': {
              readonly client: components['schemas']['Client'];
              readonly clientSecret: string;
            };
          };
        };
      };
    };
    readonly delete?: never;
    readonly options?: never;
    readonly head?: never;
    readonly patch?: never;
    readonly trace?: never;
  };
  readonly '/environments/{env}/clients/{clientId}/redirect-uris': {
    readonly parameters: {
      readonly query?: never;
      readonly header?: never;
      readonly path?: never;
      readonly cookie?: never;
    };
    readonly get?: never;
    readonly put?: never;
    /** Register one redirect URI, optionally expiring (expiresIn: 30m, 12h, 7d) */
    readonly post: {
      readonly parameters: {
        readonly query?: never;
        readonly header?: never;
        readonly path: {
          readonly env: string;
          readonly clientId: string;
        };
        readonly cookie?: never;
      };
      readonly requestBody: {
        readonly content: {
          readonly 'application/json': {
            readonly uri: string;
            readonly expiresIn?: string;
          };
        };
      };
      readonly responses: {
        /** @description Default Response */
        readonly 201: {
          headers: {
            readonly [name: string]: unknown;
          };
          content: {
            readonly 'application/json': {
              readonly client: components['schemas']['Client'];
              readonly warnings: readonly components['schemas']['LintWarning'][];
            };
          };
        };
      };
    };
    /** Remove one redirect URI */
    readonly delete: {
      readonly parameters: {
        readonly query: {
          readonly uri: string;
        };
        readonly header?: never;
        readonly path: {
          readonly env: string;
          readonly clientId: string;
        };
        readonly cookie?: never;
      };
      readonly requestBody?: never;
      readonly responses: {
        /** @description Default Response */
        readonly 200: {
          headers: {
            readonly [name: string]: unknown;
          };
          content: {
            readonly 'application/json': {
              readonly client: components['schemas']['Client'];
            };
          };
        };
      };
    };
    readonly options?: never;
    readonly head?: never;
    readonly patch?: never;
    readonly trace?: never;
  };
  readonly '/environments/{env}/clients/{clientId}/refused-redirects': {
    readonly parameters: {
      readonly query?: never;
      readonly header?: never;
      readonly path?: never;
      readonly cookie?: never;
    };
    /** Redirect URIs real requests used and the policy refused, grouped and counted */
    readonly get: {
      readonly parameters: {
        readonly query?: never;
        readonly header?: never;
        readonly path: {
          readonly env: string;
          readonly clientId: string;
        };
        readonly cookie?: never;
      };
      readonly requestBody?: never;
      readonly responses: {
        /** @description Default Response */
        readonly 200: {
          headers: {
            readonly [name: string]: unknown;
          };
          content: {
            readonly 'application/json': {
              readonly refused: readonly components['schemas']['RefusedRedirect'][];
            };
          };
        };
      };
    };
    readonly put?: never;
    readonly post?: never;
    readonly delete?: never;
    readonly options?: never;
    readonly head?: never;
    readonly patch?: never;
    readonly trace?: never;
  };
  readonly '/environments/{env}/clients/{clientId}/promote': {
    readonly parameters: {
      readonly query?: never;
      readonly header?: never;
      readonly path?: never;
      readonly cookie?: never;
    };
    readonly get?: never;
    readonly put?: never;
    /** Copy a client's configuration to another environment; lists what its policy refuses first */
    readonly post: {
      readonly parameters: {
        readonly query?: never;
        readonly header?: never;
        readonly path: {
          readonly env: string;
          readonly clientId: string;
        };
        readonly cookie?: never;
      };
      readonly requestBody: {
        readonly content: {
          readonly 'application/json': {
            readonly to: string;
            readonly dryRun?: boolean;
            readonly dropRefused?: boolean;
          };
        };
      };
      readonly responses: {
        /** @description Default Response */
        readonly 200: {
          headers: {
            readonly [name: string]: unknown;
          };
          content: {
            readonly 'application/json': {
              readonly plan: components['schemas']['PromotionPlan'];
              readonly applied: boolean;
              readonly client?: components['schemas']['Client'];
              readonly clientSecret?: string;
            };
          };
        };
      };
    };
    readonly delete?: never;
    readonly options?: never;
    readonly head?: never;
    readonly patch?: never;
    readonly trace?: never;
  };
  readonly '/environments/{env}/redirect-report': {
    readonly parameters: {
      readonly query?: never;
      readonly header?: never;
      readonly path?: never;
      readonly cookie?: never;
    };
    /** The redirect inventory: every registered redirect and post-logout URI, its provenance, last use, counts and reviewer flags (JSON, or Markdown / CSV as a download) */
    readonly get: {
      readonly parameters: {
        readonly query?: {
          readonly format?: 'md' | 'json' | 'csv';
          readonly unusedDays?: number;
          readonly expiringDays?: number;
        };
        readonly header?: never;
        readonly path: {
          readonly env: string;
        };
        readonly cookie?: never;
      };
      readonly requestBody?: never;
      readonly responses: {
        /** @description Default Response */
        readonly 200: {
          headers: {
            readonly [name: string]: unknown;
          };
          content: {
            readonly 'application/json': components['schemas']['RedirectReport'];
          };
        };
      };
    };
    readonly put?: never;
    readonly post?: never;
    readonly delete?: never;
    readonly options?: never;
    readonly head?: never;
    readonly patch?: never;
    readonly trace?: never;
  };
  readonly '/environments/{env}/users': {
    readonly parameters: {
      readonly query?: never;
      readonly header?: never;
      readonly path?: never;
      readonly cookie?: never;
    };
    /** An environment's users (never their credentials) */
    readonly get: {
      readonly parameters: {
        readonly query?: never;
        readonly header?: never;
        readonly path: {
          readonly env: string;
        };
        readonly cookie?: never;
      };
      readonly requestBody?: never;
      readonly responses: {
        /** @description Default Response */
        readonly 200: {
          headers: {
            readonly [name: string]: unknown;
          };
          content: {
            readonly 'application/json': {
              readonly users: readonly components['schemas']['User'][];
            };
          };
        };
      };
    };
    readonly put?: never;
    /** Create a user */
    readonly post: {
      readonly parameters: {
        readonly query?: never;
        readonly header?: never;
        readonly path: {
          readonly env: string;
        };
        readonly cookie?: never;
      };
      readonly requestBody: {
        readonly content: {
          readonly 'application/json': {
            readonly email: string;
            readonly name?: string;
            readonly password: string;
            readonly emailVerified?: boolean;
          };
        };
      };
      readonly responses: {
        /** @description Default Response */
        readonly 201: {
          headers: {
            readonly [name: string]: unknown;
          };
          content: {
            readonly 'application/json': {
              readonly user: components['schemas']['User'];
            };
          };
        };
      };
    };
    readonly delete?: never;
    readonly options?: never;
    readonly head?: never;
    readonly patch?: never;
    readonly trace?: never;
  };
  readonly '/environments/{env}/users/{userId}/disable': {
    readonly parameters: {
      readonly query?: never;
      readonly header?: never;
      readonly path?: never;
      readonly cookie?: never;
    };
    readonly get?: never;
    readonly put?: never;
    /** Disable a user: their sessions end and their tokens stop working */
    readonly post: {
      readonly parameters: {
        readonly query?: never;
        readonly header?: never;
        readonly path: {
          readonly env: string;
          readonly userId: string;
        };
        readonly cookie?: never;
      };
      readonly requestBody?: never;
      readonly responses: {
        /** @description Default Response */
        readonly 200: {
          headers: {
            readonly [name: string]: unknown;
          };
          content: {
            readonly 'application/json': {
              readonly user: components['schemas']['User'];
            };
          };
        };
      };
    };
    readonly delete?: never;
    readonly options?: never;
    readonly head?: never;
    readonly patch?: never;
    readonly trace?: never;
  };
  readonly '/environments/{env}/users/{userId}/enable': {
    readonly parameters: {
      readonly query?: never;
      readonly header?: never;
      readonly path?: never;
      readonly cookie?: never;
    };
    readonly get?: never;
    readonly put?: never;
    /** Enable a disabled user */
    readonly post: {
      readonly parameters: {
        readonly query?: never;
        readonly header?: never;
        readonly path: {
          readonly env: string;
          readonly userId: string;
        };
        readonly cookie?: never;
      };
      readonly requestBody?: never;
      readonly responses: {
        /** @description Default Response */
        readonly 200: {
          headers: {
            readonly [name: string]: unknown;
          };
          content: {
            readonly 'application/json': {
              readonly user: components['schemas']['User'];
            };
          };
        };
      };
    };
    readonly delete?: never;
    readonly options?: never;
    readonly head?: never;
    readonly patch?: never;
    readonly trace?: never;
  };
  readonly '/environments/{env}/users/{userId}': {
    readonly parameters: {
      readonly query?: never;
      readonly header?: never;
      readonly path?: never;
      readonly cookie?: never;
    };
    readonly get?: never;
    readonly put?: never;
    readonly post?: never;
    /** Delete a user */
    readonly delete: {
      readonly parameters: {
        readonly query?: never;
        readonly header?: never;
        readonly path: {
          readonly env: string;
          readonly userId: string;
        };
        readonly cookie?: never;
      };
      readonly requestBody?: never;
      readonly responses: {
        /** @description Default Response */
        readonly 200: {
          headers: {
            readonly [name: string]: unknown;
          };
          content?: never;
        };
      };
    };
    readonly options?: never;
    readonly head?: never;
    /** Change a user: whether their email is verified (the ID token's and userinfo's email_verified) */
    readonly patch: {
      readonly parameters: {
        readonly query?: never;
        readonly header?: never;
        readonly path: {
          readonly env: string;
          readonly userId: string;
        };
        readonly cookie?: never;
      };
      readonly requestBody: {
        readonly content: {
          readonly 'application/json': {
            readonly emailVerified: boolean;
          };
        };
      };
      readonly responses: {
        /** @description Default Response */
        readonly 200: {
          headers: {
            readonly [name: string]: unknown;
          };
          content: {
            readonly 'application/json': {
              readonly user: components['schemas']['User'];
            };
          };
        };
      };
    };
    readonly trace?: never;
  };
  readonly '/environments/{env}/users/{userId}/consents': {
    readonly parameters: {
      readonly query?: never;
      readonly header?: never;
      readonly path?: never;
      readonly cookie?: never;
    };
    /** What the user granted each client; for a client with token exchange, where it may act for the user (RFC 8693) */
    readonly get: {
      readonly parameters: {
        readonly query?: never;
        readonly header?: never;
        readonly path: {
          readonly env: string;
          readonly userId: string;
        };
        readonly cookie?: never;
      };
      readonly requestBody?: never;
      readonly responses: {
        /** @description Default Response */
        readonly 200: {
          headers: {
            readonly [name: string]: unknown;
          };
          content: {
            readonly 'application/json': {
              readonly consents: readonly components['schemas']['Consent'][];
            };
          };
        };
      };
    };
    readonly put?: never;
    readonly post?: never;
    readonly delete?: never;
    readonly options?: never;
    readonly head?: never;
    readonly patch?: never;
    readonly trace?: never;
  };
  readonly '/environments/{env}/users/{userId}/consents/{clientId}': {
    readonly parameters: {
      readonly query?: never;
      readonly header?: never;
      readonly path?: never;
      readonly cookie?: never;
    };
    readonly get?: never;
    readonly put?: never;
    readonly post?: never;
    /** Revoke what the user granted a client: it asks again, and may no longer act for the user by token exchange */
    readonly delete: {
      readonly parameters: {
        readonly query?: never;
        readonly header?: never;
        readonly path: {
          readonly env: string;
          readonly userId: string;
          readonly clientId: string;
        };
        readonly cookie?: never;
      };
      readonly requestBody?: never;
      readonly responses: {
        /** @description Default Response */
        readonly 200: {
          headers: {
            readonly [name: string]: unknown;
          };
          content?: never;
        };
      };
    };
    readonly options?: never;
    readonly head?: never;
    readonly patch?: never;
    readonly trace?: never;
  };
  readonly '/environments/{env}/impersonations': {
    readonly parameters: {
      readonly query?: never;
      readonly header?: never;
      readonly path?: never;
      readonly cookie?: never;
    };
    /** Recent impersonations in an environment, running ones first */
    readonly get: {
      readonly parameters: {
        readonly query?: never;
        readonly header?: never;
        readonly path: {
          readonly env: string;
        };
        readonly cookie?: never;
      };
      readonly requestBody?: never;
      readonly responses: {
        /** @description Default Response */
        readonly 200: {
          headers: {
            readonly [name: string]: unknown;
          };
          content: {
            readonly 'application/json': {
              readonly impersonations: readonly components['schemas']['Impersonation'][];
            };
          };
        };
      };
    };
    readonly put?: never;
    /** Start impersonating a user towards one client; this browser then signs in to it as the user */
    readonly post: {
      readonly parameters: {
        readonly query?: never;
        readonly header?: never;
        readonly path: {
          readonly env: string;
        };
        readonly cookie?: never;
      };
      readonly requestBody: {
        readonly content: {
          readonly 'application/json': {
            readonly userId: string;
            readonly clientId: string;
            readonly reason: string;
            readonly minutes?: number;
          };
        };
      };
      readonly responses: {
        /** @description Default Response */
        readonly 201: {
          headers: {
            readonly [name: string]: unknown;
          };
          content: {
            readonly 'application/json': {
              readonly impersonation: components['schemas']['Impersonation'];
            };
          };
        };
      };
    };
    readonly delete?: never;
    readonly options?: never;
    readonly head?: never;
    readonly patch?: never;
    readonly trace?: never;
  };
  readonly '/environments/{env}/impersonations/{id}/end': {
    readonly parameters: {
      readonly query?: never;
      readonly header?: never;
      readonly path?: never;
      readonly cookie?: never;
    };
    readonly get?: never;
    readonly put?: never;
    /** End an impersonation; every token issued during it is revoked. A support operator may end only their own; an admin any */
    readonly post: {
      readonly parameters: {
        readonly query?: never;
        readonly header?: never;
        readonly path: {
          readonly env: string;
          readonly id: string;
        };
        readonly cookie?: never;
      };
      readonly requestBody?: never;
      readonly responses: {
        /** @description Default Response */
        readonly 200: {
          headers: {
            readonly [name: string]: unknown;
          };
          content: {
            readonly 'application/json': {
              readonly impersonation: components['schemas']['Impersonation'];
            };
          };
        };
      };
    };
    readonly delete?: never;
    readonly options?: never;
    readonly head?: never;
    readonly patch?: never;
    readonly trace?: never;
  };
  readonly '/audit': {
    readonly parameters: {
      readonly query?: never;
      readonly header?: never;
      readonly path?: never;
      readonly cookie?: never;
    };
    /** Audit entries, newest first, with the state of the hash chain */
    readonly get: {
      readonly parameters: {
        readonly query?: {
          readonly environment?: string;
          readonly type?: string;
          readonly clientId?: string;
          readonly userId?: string;
          /** @description operator id or email */
          readonly operator?: string;
          readonly since?: number;
          readonly until?: number;
          readonly before?: number;
          readonly limit?: number;
        };
        readonly header?: never;
        readonly path?: never;
        readonly cookie?: never;
      };
      readonly requestBody?: never;
      readonly responses: {
        /** @description Default Response */
        readonly 200: {
          headers: {
            readonly [name: string]: unknown;
          };
          content: {
            readonly 'application/json': {
              readonly entries: readonly components['schemas']['AuditEntry'][];
              readonly verification: components['schemas']['AuditVerification'];
            };
          };
        };
      };
    };
    readonly put?: never;
    readonly post?: never;
    readonly delete?: never;
    readonly options?: never;
    readonly head?: never;
    readonly patch?: never;
    readonly trace?: never;
  };
  readonly '/operators': {
    readonly parameters: {
      readonly query?: never;
      readonly header?: never;
      readonly path?: never;
      readonly cookie?: never;
    };
    /** The operators of this Gatehouse */
    readonly get: {
      readonly parameters: {
        readonly query?: never;
        readonly header?: never;
        readonly path?: never;
        readonly cookie?: never;
      };
      readonly requestBody?: never;
      readonly responses: {
        /** @description Default Response */
        readonly 200: {
          headers: {
            readonly [name: string]: unknown;
          };
          content: {
            readonly 'application/json': {
              readonly operators: readonly components['schemas']['Operator'][];
            };
          };
        };
      };
    };
    readonly put?: never;
    /** Create an operator */
    readonly post: {
      readonly parameters: {
        readonly query?: never;
        readonly header?: never;
        readonly path?: never;
        readonly cookie?: never;
      };
      readonly requestBody: {
        readonly content: {
          readonly 'application/json': {
            readonly email: string;
            /** @enum {string} */
            readonly role: 'admin' | 'support' | 'viewer';
            readonly password: string;
          };
        };
      };
      readonly responses: {
        /** @description Default Response */
        readonly 201: {
          headers: {
            readonly [name: string]: unknown;
          };
          content: {
            readonly 'application/json': {
              readonly operator: components['schemas']['Operator'];
            };
          };
        };
      };
    };
    readonly delete?: never;
    readonly options?: never;
    readonly head?: never;
    readonly patch?: never;
    readonly trace?: never;
  };
  readonly '/operators/{id}/disable': {
    readonly parameters: {
      readonly query?: never;
      readonly header?: never;
      readonly path?: never;
      readonly cookie?: never;
    };
    readonly get?: never;
    readonly put?: never;
    /** Disable an operator; their sessions end at once */
    readonly post: {
      readonly parameters: {
        readonly query?: never;
        readonly header?: never;
        readonly path: {
          readonly id: string;
        };
        readonly cookie?: never;
      };
      readonly requestBody?: never;
      readonly responses: {
        /** @description Default Response */
        readonly 200: {
          headers: {
            readonly [name: string]: unknown;
          };
          content: {
            readonly 'application/json': {
              readonly operator: components['schemas']['Operator'];
            };
          };
        };
      };
    };
    readonly delete?: never;
    readonly options?: never;
    readonly head?: never;
    readonly patch?: never;
    readonly trace?: never;
  };
  readonly '/operators/{id}/enable': {
    readonly parameters: {
      readonly query?: never;
      readonly header?: never;
      readonly path?: never;
      readonly cookie?: never;
    };
    readonly get?: never;
    readonly put?: never;
    /** Enable an operator */
    readonly post: {
      readonly parameters: {
        readonly query?: never;
        readonly header?: never;
        readonly path: {
          readonly id: string;
        };
        readonly cookie?: never;
      };
      readonly requestBody?: never;
      readonly responses: {
        /** @description Default Response */
        readonly 200: {
          headers: {
            readonly [name: string]: unknown;
          };
          content: {
            readonly 'application/json': {
              readonly operator: components['schemas']['Operator'];
            };
          };
        };
      };
    };
    readonly delete?: never;
    readonly options?: never;
    readonly head?: never;
    readonly patch?: never;
    readonly trace?: never;
  };
  readonly '/environments/{env}/resources': {
    readonly parameters: {
      readonly query?: never;
      readonly header?: never;
      readonly path?: never;
      readonly cookie?: never;
    };
    /** Registered resources; once there are any, only these may be asked for */
    readonly get: {
      readonly parameters: {
        readonly query?: never;
        readonly header?: never;
        readonly path: {
          readonly env: string;
        };
        readonly cookie?: never;
      };
      readonly requestBody?: never;
      readonly responses: {
        /** @description Default Response */
        readonly 200: {
          headers: {
            readonly [name: string]: unknown;
          };
          content: {
            readonly 'application/json': {
              readonly resources: readonly components['schemas']['ProtectedResource'][];
            };
          };
        };
      };
    };
    readonly put?: never;
    /** Register a resource and the scopes it defines */
    readonly post: {
      readonly parameters: {
        readonly query?: never;
        readonly header?: never;
        readonly path: {
          readonly env: string;
        };
        readonly cookie?: never;
      };
      readonly requestBody: {
        readonly content: {
          readonly 'application/json': {
            readonly uri: string;
            readonly name: string;
            readonly scopes?: readonly string[];
            readonly clientId?: string | null;
            /** @enum {string|null} */
            readonly accessTokenAlg?: 'ES256' | 'RS256' | null;
          };
        };
      };
      readonly responses: {
        /** @description Default Response */
        readonly 201: {
          headers: {
            readonly [name: string]: unknown;
          };
          content: {
            readonly 'application/json': {
              readonly resource: components['schemas']['ProtectedResource'];
            };
          };
        };
      };
    };
    /** Remove a registered resource */
    readonly delete: {
      readonly parameters: {
        readonly query: {
          readonly uri: string;
        };
        readonly header?: never;
        readonly path: {
          readonly env: string;
        };
        readonly cookie?: never;
      };
      readonly requestBody?: never;
      readonly responses: {
        /** @description Default Response */
        readonly 200: {
          headers: {
            readonly [name: string]: unknown;
          };
          content?: never;
        };
      };
    };
    readonly options?: never;
    readonly head?: never;
    /** Link a resource to the confidential client it authenticates as (revocation feed, introspection), or unlink it (null); and/or set the algorithm of its access tokens (RS256, or null for ES256) */
    readonly patch: {
      readonly parameters: {
        readonly query: {
          readonly uri: string;
        };
        readonly header?: never;
        readonly path: {
          readonly env: string;
        };
        readonly cookie?: never;
      };
      readonly requestBody: {
        readonly content: {
          readonly 'application/json': {
            readonly clientId?: string | null;
            /** @enum {string|null} */
            readonly accessTokenAlg?: 'ES256' | 'RS256' | null;
          };
        };
      };
      readonly responses: {
        /** @description Default Response */
        readonly 200: {
          headers: {
            readonly [name: string]: unknown;
          };
          content: {
            readonly 'application/json': {
              readonly resource: components['schemas']['ProtectedResource'];
            };
          };
        };
      };
    };
    readonly trace?: never;
  };
  readonly '/openapi.json': {
    readonly parameters: {
      readonly query?: never;
      readonly header?: never;
      readonly path?: never;
      readonly cookie?: never;
    };
    /** This description (OpenAPI 3) */
    readonly get: {
      readonly parameters: {
        readonly query?: never;
        readonly header?: never;
        readonly path?: never;
        readonly cookie?: never;
      };
      readonly requestBody?: never;
      readonly responses: {
        /** @description Default Response */
        readonly 200: {
          headers: {
            readonly [name: string]: unknown;
          };
          content?: never;
        };
      };
    };
    readonly put?: never;
    readonly post?: never;
    readonly delete?: never;
    readonly options?: never;
    readonly head?: never;
    readonly patch?: never;
    readonly trace?: never;
  };
}
export type webhooks = Record<string, never>;
export interface components {
  schemas: {
    /** @enum {string} */
    readonly Role: 'admin' | 'support' | 'viewer';
    /** @enum {string} */
    readonly Tier: 'development' | 'staging' | 'production';
    /** @enum {string} */
    readonly ClientType: 'web' | 'native' | 'spa';
    /** @enum {string} */
    readonly RegistrationPolicy: 'open' | 'token' | 'off';
    /** @enum {string} */
    readonly LoopbackHost: '127.0.0.1' | '[::1]' | 'localhost';
    readonly LoopbackViolation: {
      readonly clientId: string;
      readonly clientName: string;
      /** @enum {string} */
      readonly kind: 'redirect' | 'post_logout';
      readonly uri: string;
      readonly message: string;
      readonly suggestion?: string;
    };
    readonly Session: {
      readonly operator: {
        readonly id: string;
        readonly email: string;
        readonly role: components['schemas']['Role'];
      };
      readonly csrfToken: string;
    };
    readonly Environment: {
      readonly name: string;
      readonly tier: components['schemas']['Tier'];
      readonly issuer: string;
      readonly impersonationEnabled: boolean;
      readonly registration: components['schemas']['RegistrationPolicy'];
      readonly allowLoopbackDocuments: boolean;
      readonly metadataDocuments: boolean;
      readonly requirePar: boolean;
      readonly requireDpop: boolean;
      readonly refreshGraceSeconds: number;
      readonly loopbackHosts: readonly components['schemas']['LoopbackHost'][];
      readonly clientCount: number;
      readonly userCount: number;
      readonly createdAt: number;
    };
    readonly Client: {
      readonly clientId: string;
      readonly environment: string;
      readonly name: string;
      readonly type: components['schemas']['ClientType'];
      readonly grantTypes: readonly (
        | 'authorization_code'
        | 'refresh_token'
        | 'client_credentials'
        | 'urn:ietf:params:oauth:grant-type:device_code'
        | 'urn:ietf:params:oauth:grant-type:token-exchange'
      )[];
      readonly skipConsent: boolean;
      readonly hasSecret: boolean;
      readonly redirectUris: readonly {
        readonly uri: string;
        readonly expiresAt: number | null;
      }[];
      readonly managedBy: string | null;
      readonly promotedFrom: string | null;
      /** @enum {string} */
      readonly kind: 'registered' | 'dynamic' | 'metadata_document';
      readonly exchangeAudiences: readonly string[] | null;
      readonly allowedResources: readonly string[] | null;
      readonly scopes: readonly string[];
      /** @enum {string|null} */
      readonly idTokenSignedResponseAlg: 'RS256' | 'ES256' | null;
      readonly postLogoutRedirectUris: readonly string[];
      readonly backchannelLogoutUri: string | null;
      readonly jwks: {
        readonly keys: readonly {
          readonly [key: string]: unknown;
        }[];
      } | null;
      readonly jwksUri: string | null;
      /** @enum {string|null} */
      readonly tokenEndpointAuthMethod:
        'client_secret_basic' | 'client_secret_post' | 'private_key_jwt' | 'none' | null;
      readonly requirePar: boolean;
      readonly pkceExemptWithNonce: boolean;
      readonly requireDpop: boolean;
      readonly createdAt: number;
      readonly updatedAt: number;
    };
    readonly LintWarning: {
      readonly code: string;
      readonly message: string;
      readonly uris: readonly string[];
    };
    readonly RefusedUri: {
      readonly uri: string;
      readonly code: string;
      readonly message: string;
      readonly suggestion?: string;
    };
    readonly ProtectedResource: {
      readonly environment: string;
      readonly uri: string;
      readonly name: string;
      readonly scopes: readonly string[];
      readonly clientId: string | null;
      readonly accessTokenAlg: string | null;
      readonly createdAt: number;
    };
    readonly User: {
      readonly id: string;
      readonly environment: string;
      readonly email: string;
      readonly name: string | null;
      readonly disabled: boolean;
      readonly emailVerified: boolean;
      readonly createdAt: number;
      readonly updatedAt: number;
    };
    readonly Consent: {
      readonly clientId: string;
      readonly clientName: string | null;
      readonly agent: boolean;
      readonly scopes: readonly string[];
      readonly resources: readonly {
        readonly uri: string;
        readonly scopes: readonly string[];
      }[];
      readonly grantedAt: number;
    };
    readonly Operator: {
      readonly id: string;
      readonly email: string;
      readonly role: components['schemas']['Role'];
      readonly disabled: boolean;
      readonly createdAt: number;
    };
    readonly Impersonation: {
      readonly id: string;
      readonly environment: string;
      readonly operatorId: string;
      readonly operatorEmail: string;
      readonly userId: string;
      readonly userEmail: string;
      readonly clientId: string;
      readonly clientName: string;
      readonly reason: string;
      readonly startedAt: number;
      readonly expiresAt: number;
      readonly endedAt: number | null;
      /** @enum {string|null} */
      readonly endReason: 'ended' | 'expired' | null;
      readonly active: boolean;
    };
    readonly AuditEntry: {
      readonly seq: number;
      readonly at: number;
      readonly environment: string | null;
      readonly type: string;
      readonly actor: string;
      readonly clientId: string | null;
      readonly userId: string | null;
      readonly data: {
        readonly [key: string]: unknown;
      };
      readonly hash: string;
    };
    readonly AuditVerification:
      | {
          /** @enum {boolean} */
          readonly ok: true;
          readonly count: number;
        }
      | {
          /** @enum {boolean} */
          readonly ok: false;
          readonly count: number;
          readonly seq: number;
          readonly reason: string;
        };
    readonly RefusedRedirect: {
      readonly uri: string;
      readonly count: number;
      readonly firstSeenAt: number;
      readonly lastSeenAt: number;
      readonly closest: string | null;
      readonly diff: {
        readonly index: number;
        readonly expected: string;
        readonly component: string;
        readonly kind: string;
        /** @description A phrase completing "the request ..." */
        readonly description: string;
      } | null;
      readonly registrable:
        | {
            /** @enum {boolean} */
            readonly ok: true;
          }
        | {
            /** @enum {boolean} */
            readonly ok: false;
            readonly code: string;
            readonly message: string;
          };
    };
    readonly PromotionPlan: {
      readonly from: string;
      readonly to: string;
      readonly clientId: string;
      /** @enum {string} */
      readonly action: 'create' | 'update';
      readonly targetClientId: string | null;
      readonly accepted: readonly string[];
      readonly refused: readonly components['schemas']['RefusedUri'][];
      readonly skippedExpiring: readonly string[];
      readonly grantTypes: readonly (
        | 'authorization_code'
        | 'refresh_token'
        | 'client_credentials'
        | 'urn:ietf:params:oauth:grant-type:device_code'
        | 'urn:ietf:params:oauth:grant-type:token-exchange'
      )[];
    };
    readonly RedirectReportFlag: {
      /** @enum {string} */
      readonly code:
        | 'unused'
        | 'localhost_loopback'
        | 'wildcard'
        | 'http_not_loopback'
        | 'loopback_for_web_client'
        | 'violates_policy'
        | 'expiring_soon'
        | 'promotion_drift';
      readonly reason: string;
    };
    readonly RedirectInventoryEntry: {
      /** @enum {string} */
      readonly kind: 'redirect' | 'post_logout';
      readonly uri: string;
      /** @enum {string} */
      readonly class:
        'https' | 'loopback' | 'private-use-scheme' | 'wildcard' | 'http' | 'unparsable';
      readonly loopbackHost: string | null;
      readonly expiresAt: number | null;
      readonly registeredAt: number | null;
      readonly registeredBy: string | null;
      readonly registeredByLabel: string | null;
      readonly channel: string;
      readonly lastUsedAt: number | null;
      readonly uses: number;
      readonly requests: number;
      readonly nearMisses: number;
      readonly flags: readonly components['schemas']['RedirectReportFlag'][];
    };
    readonly RedirectInventoryClient: {
      readonly clientId: string;
      readonly name: string;
      readonly type: components['schemas']['ClientType'];
      /** @enum {string} */
      readonly kind: 'registered' | 'dynamic' | 'metadata_document';
      readonly managedBy: string | null;
      readonly promotedFrom: string | null;
      readonly entries: readonly components['schemas']['RedirectInventoryEntry'][];
      readonly flags: readonly components['schemas']['RedirectReportFlag'][];
      readonly otherRefusals: number;
    };
    readonly RedirectReport: {
      readonly environment: string;
      readonly tier: components['schemas']['Tier'];
      readonly loopbackHosts: readonly string[];
      readonly generatedAt: number;
      readonly unusedDays: number;
      readonly expiringDays: number;
      readonly clients: readonly components['schemas']['RedirectInventoryClient'][];
      readonly summary: {
        readonly clients: number;
        readonly redirectUris: number;
        readonly postLogoutUris: number;
        readonly flags: {
          readonly unused: number;
          readonly localhost_loopback: number;
          readonly wildcard: number;
          readonly http_not_loopback: number;
          readonly loopback_for_web_client: number;
          readonly violates_policy: number;
          readonly expiring_soon: number;
          readonly promotion_drift: number;
        };
      };
    };
  };
  responses: never;
  parameters: never;
  requestBodies: never;
  headers: never;
  pathItems: never;
}
export type $defs = Record<string, never>;
export type operations = Record<string, never>;
