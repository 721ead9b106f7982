/** The HTTP statuses an operator's refused request is answered with (RFC 9110 §15.5). */
export type InputErrorStatus = 400 | 403 | 404 | 409;

/**
 * Every refusal code, each with its status, declared once: a new code must say what kind of
 * refusal it is, and a mistyped one does not compile. The admin API answers with this status;
 * the CLI prints the message.
 */
const STATUS_OF_CODE = {
  // 403: the operator may not do this.
  forbidden: 403,
  // 404: what the request names does not exist.
  unknown_client: 404,
  unknown_environment: 404,
  unknown_impersonation: 404,
  unknown_key: 404,
  unknown_operator: 404,
  unknown_redirect_uri: 404,
  unknown_resource: 404,
  unknown_user: 404,
  unknown_consent: 404,
  // 409: it exists already, or something running stands in the way.
  email_taken: 409,
  environment_exists: 409,
  impersonation_active: 409,
  // 400: the input itself is refused.
  cannot_disable_self: 400,
  client_without_sign_in: 400,
  development_only: 400,
  duplicate_redirect_uri: 400,
  impersonation_disabled: 400,
  invalid_client_name: 400,
  invalid_duration: 400,
  invalid_email: 400,
  invalid_environment_name: 400,
  invalid_expiry: 400,
  invalid_file: 400,
  invalid_grant_type: 400,
  invalid_backchannel_logout_uri: 400,
  invalid_id_token_alg: 400,
  invalid_access_token_alg: 400,
  invalid_jwks: 400,
  invalid_jwks_uri: 400,
  invalid_token_endpoint_auth_method: 400,
  invalid_overlap: 400,
  invalid_refresh_grace: 400,
  invalid_loopback_hosts: 400,
  invalid_reason: 400,
  invalid_registration_policy: 400,
  invalid_resource: 400,
  invalid_resource_name: 400,
  invalid_role: 400,
  invalid_scope: 400,
  key_in_use: 400,
  key_still_needed: 400,
  missing_variable: 400,
  no_secret: 400,
  operator_user: 400,
  plan_refused: 400,
  pkce_exemption_refused: 400,
  post_logout_redirect_uri_refused: 400,
  public_resource_client: 400,
  promotion_refused: 400,
  reason_required: 400,
  redirect_uri_refused: 400,
  redirect_uri_required: 400,
  resource_exists: 400,
  rotation_pending: 400,
  same_environment: 400,
  unsafe_variable: 400,
  user_disabled: 400,
  weak_password: 400,
} as const satisfies Record<string, InputErrorStatus>;

/** A stable code for scripts (`unknown_environment`, `redirect_uri_refused`, ...). */
export type InputErrorCode = keyof typeof STATUS_OF_CODE;

/**
 * An operator's request that cannot be carried out as asked (an unknown environment, a refused
 * redirect URI, a taken email). The message is one line for a person; nothing was changed.
 */
export class InputError extends Error {
  override readonly name = 'InputError';
  /** What the admin API answers with. */
  readonly status: InputErrorStatus;

  constructor(
    message: string,
    readonly code: InputErrorCode,
    /** Per-item detail, such as each refused redirect URI with the policy's code and message. */
    readonly details: readonly Record<string, unknown>[] = [],
  ) {
    super(message);
    this.status = STATUS_OF_CODE[code];
  }
}
