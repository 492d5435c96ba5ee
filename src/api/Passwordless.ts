import { Schema } from "effect"
import { HttpApiEndpoint, HttpApiGroup } from "effect/http-api"
import { isDisplayName, isHttpsUrl } from "../domain/Branding.ts"
import { AuthRequestId, AuthType, Channel, Template } from "../domain/Ids.ts"
import {
  AlreadyUsed,
  ChannelDisabled,
  CodeExpired,
  CodeInvalid,
  DeliveryFailed,
  InvalidEmail,
  InvalidPhone,
  NotFound,
  OriginMismatch,
  RateLimited,
  RedirectNotAllowed,
  ResendTooSoon,
  RiskBlocked,
  ServiceUnavailable,
  TooManyAttempts,
  ValidationFailed,
  VoipNotAllowed
} from "./Errors.ts"
import { ApiKeyAuth, RequiredScope } from "./Security.ts"
import { Session, User } from "./Shapes.ts"

const noControl = Schema.isPattern(/^[^\u0000-\u001f\u007f]*$/, { message: "must not contain control characters (CR, LF…)" })
/** A string that can reach an email header: no CR/LF or other control characters (ASVS 1.3.11). */
const HeaderSafe = (max: number) => Schema.String.check(noControl, Schema.isMaxLength(max))
const Text = (max: number) => Schema.String.check(Schema.isMaxLength(max))
const TEMPLATE_VARIABLE = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/
const Seconds = (min: number, max: number) => Schema.Int.check(Schema.isBetween({ minimum: min, maximum: max }))

export const EmailContent = Schema.Struct({
  subject: Schema.optionalKey(HeaderSafe(200)),
  senderName: Schema.optionalKey(HeaderSafe(100).check(isDisplayName)),
  primaryColor: Schema.optionalKey(Schema.String.check(Schema.isPattern(/^#[0-9a-fA-F]{6}$/))),
  logoUrl: Schema.optionalKey(Text(2048).check(isHttpsUrl)),
  headerText: Schema.optionalKey(Text(500)),
  bodyText: Schema.optionalKey(Text(2000)),
  linkText: Schema.optionalKey(Text(100)),
  /** Transmit's info text: a note under the code/link (e.g. why the user gets this email). */
  infoText: Schema.optionalKey(Text(1000)),
  footerText: Schema.optionalKey(Text(1000))
})

export const Approval = Schema.Struct({
  transactionId: HeaderSafe(128),
  summary: HeaderSafe(512),
  /**
   * The approved details as flat pairs (at most 10, Transmit's `approval_data`). The ID token of the
   * sign-in carries them as the `approval_data` claim (else `{transactionId, summary}`).
   */
  data: Schema.optionalKey(Schema.Record(Schema.String.check(Schema.isMaxLength(64)), HeaderSafe(256)).check(Schema.isMaxProperties(10)))
})
export type Approval = typeof Approval.Type

export const ClientInfo = Schema.Struct({
  ipAddress: Schema.optionalKey(Text(64)),
  userAgent: Schema.optionalKey(Text(512))
})

const Metadata = Schema.Record(Schema.String, Schema.Json).check(
  Schema.makeFilter((m) => JSON.stringify(m).length <= 4096 || "must be at most 4 KiB of JSON")
)

export const SendRequest = Schema.Struct({
  channel: Schema.optionalKey(Channel),
  email: Schema.optionalKey(Text(320)),
  phone: Schema.optionalKey(Text(32)),
  type: Schema.optionalKey(AuthType),
  expiresIn: Schema.optionalKey(Seconds(60, 3600)),
  codeLength: Schema.optionalKey(Schema.Literals([4, 6, 8])),
  redirectUrl: Schema.optionalKey(Text(2048)),
  /**
   * Where this request's email link lands (default: the tenant's `linkMode`): `hosted` = Sesame's page
   * `{PUBLIC_URL}/l/{token}`, which then redirects to `redirectUrl?code=…&state=…`; `direct` =
   * `redirectUrl?{linkParam}={linkToken}`.
   */
  linkMode: Schema.optionalKey(Schema.Literals(["direct", "hosted"])),
  /** Direct links: the query parameter that carries the link token (default `link_token`). */
  linkParam: Schema.optionalKey(Schema.String.check(Schema.isPattern(/^[A-Za-z_][A-Za-z0-9_]{0,31}$/))),
  codeChallenge: Schema.optionalKey(Schema.String.check(Schema.isPattern(/^[A-Za-z0-9_-]{43,128}$/))),
  codeChallengeMethod: Schema.optionalKey(Schema.Literal("S256")),
  state: Schema.optionalKey(Text(512)),
  template: Schema.optionalKey(Template),
  locale: Schema.optionalKey(Schema.String.check(Schema.isPattern(/^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$/))),
  // A Record with a refined key schema would drop a key that does not match, silently: every key is
  // checked here instead, so `{"team-name": …}` is VALIDATION_FAILED, not a variable that vanishes.
  templateVariables: Schema.optionalKey(
    Schema.Record(Schema.String, Text(1000)).check(
      Schema.isMaxProperties(30),
      Schema.makeFilter((vars) =>
        Object.keys(vars).every((name) => TEMPLATE_VARIABLE.test(name)) ||
        "names must be identifiers (letters, digits, _; at most 64, not starting with a digit)")
    )
  ),
  emailContent: Schema.optionalKey(EmailContent),
  smsMessage: Schema.optionalKey(Text(1600)),
  approval: Schema.optionalKey(Approval),
  metadata: Schema.optionalKey(Metadata),
  client: Schema.optionalKey(ClientInfo),
  deliver: Schema.optionalKey(Schema.Literals(["async", "sync"]))
})
export type SendRequest = typeof SendRequest.Type

export const PhoneType = Schema.Literals([
  "mobile", "landline", "voip", "toll_free", "premium_rate", "shared_cost", "personal", "pager", "uan", "unknown"
])

export const SendResponse = Schema.Struct({
  authRequestId: AuthRequestId,
  channel: Channel,
  type: AuthType,
  expiresAt: Schema.Int,
  expiresIn: Schema.Int,
  delivery: Schema.Literals(["queued", "sent"]),
  /** SMS only (#4): libphonenumber's line type, and the fraud score with the signals that raised it. */
  phoneType: Schema.optionalKey(PhoneType),
  isVoip: Schema.optionalKey(Schema.Boolean),
  riskScore: Schema.optionalKey(Schema.Number),
  riskSignals: Schema.optionalKey(Schema.Array(Schema.String)),
  code: Schema.optionalKey(Schema.String),
  linkToken: Schema.optionalKey(Schema.String)
})
export type SendResponse = typeof SendResponse.Type

export const ResendRequest = Schema.Struct({ authRequestId: AuthRequestId })

export const VerifyRequest = Schema.Struct({
  authRequestId: Schema.optionalKey(AuthRequestId),
  email: Schema.optionalKey(Text(320)),
  /**
   * With `email` and a code and no id: `sms` finds the newest SMS request bound to that email (sent with
   * `phone` and `email`), not an email request. Default: the channel the identifier implies.
   */
  channel: Schema.optionalKey(Channel),
  phone: Schema.optionalKey(Text(32)),
  code: Schema.optionalKey(Schema.String.check(Schema.isPattern(/^[0-9]{4,8}$/))),
  linkToken: Schema.optionalKey(Schema.String.check(Schema.isPattern(/^[A-Za-z0-9_-]{20,128}$/))),
  codeVerifier: Schema.optionalKey(Schema.String.check(Schema.isPattern(/^[A-Za-z0-9._~-]{43,128}$/))),
  client: Schema.optionalKey(ClientInfo)
})
export type VerifyRequest = typeof VerifyRequest.Type

export const AuthRequestSummary = Schema.Struct({
  id: AuthRequestId,
  channel: Channel,
  type: AuthType,
  state: Schema.NullOr(Schema.String),
  template: Template,
  metadata: Schema.NullOr(Schema.Record(Schema.String, Schema.Json)),
  approval: Schema.NullOr(Approval),
  /** The send's redirectUrl (links), null for codes. */
  redirectUrl: Schema.NullOr(Schema.String)
})

export const VerifyResponse = Schema.Struct({
  user: User,
  isNewUser: Schema.Boolean,
  session: Session,
  idToken: Schema.String,
  authRequest: AuthRequestSummary
})
export type VerifyResponse = typeof VerifyResponse.Type

/** `confirm`: the code or link and the user are proven; no session, no tokens (the application keeps its own). */
export const ConfirmResponse = Schema.Struct({
  user: User,
  isNewUser: Schema.Boolean,
  authRequest: AuthRequestSummary
})
export type ConfirmResponse = typeof ConfirmResponse.Type

export const AuthRequestStatus = Schema.Struct({
  id: AuthRequestId,
  channel: Channel,
  type: AuthType,
  status: Schema.Literals(["pending", "verified", "expired", "locked"]),
  attempts: Schema.Int,
  maxAttempts: Schema.Int,
  expiresAt: Schema.Int,
  resends: Schema.Int,
  delivery: Schema.Struct({
    // suppressed: sign-up is off and the address has no account, so nothing was sent (README "Enumeration safety")
    status: Schema.Literals(["queued", "sending", "sent", "failed", "skipped", "suppressed"]),
    provider: Schema.NullOr(Schema.String),
    attempts: Schema.Int,
    lastError: Schema.NullOr(Schema.String)
  }),
  /** Verified on the hosted page and not yet exchanged: the one-time code for `POST /v1/passwordless/exchange`. */
  exchangeCode: Schema.optionalKey(Schema.String),
  /** SMS requests (#4): the risk score and signals computed at send. */
  riskScore: Schema.optionalKey(Schema.Number),
  riskSignals: Schema.optionalKey(Schema.Array(Schema.String))
})
export type AuthRequestStatus = typeof AuthRequestStatus.Type

const VerifyErrors = [
  ValidationFailed, InvalidEmail, InvalidPhone, NotFound, CodeInvalid, CodeExpired, AlreadyUsed, TooManyAttempts, OriginMismatch,
  RateLimited, ServiceUnavailable
] as const

export class PasswordlessApi extends HttpApiGroup.make("passwordless")
  .add(
    HttpApiEndpoint.post("send", "/v1/passwordless/send", {
      payload: SendRequest,
      success: SendResponse.pipe(Schema.annotate({ httpApiStatus: 202 })),
      error: [
        ValidationFailed, InvalidEmail, InvalidPhone, RedirectNotAllowed, ChannelDisabled, VoipNotAllowed, RiskBlocked,
        RateLimited, DeliveryFailed, ServiceUnavailable
      ]
    }).annotate(RequiredScope, "passwordless:send"),
    HttpApiEndpoint.post("resend", "/v1/passwordless/resend", {
      payload: ResendRequest,
      success: SendResponse.pipe(Schema.annotate({ httpApiStatus: 202 })),
      error: [NotFound, ResendTooSoon, CodeExpired, AlreadyUsed, TooManyAttempts, RateLimited, DeliveryFailed,
        ServiceUnavailable]
    }).annotate(RequiredScope, "passwordless:send"),
    HttpApiEndpoint.post("verify", "/v1/passwordless/verify", {
      payload: VerifyRequest,
      success: VerifyResponse,
      error: VerifyErrors
    }).annotate(RequiredScope, "passwordless:verify"),
    HttpApiEndpoint.post("confirm", "/v1/passwordless/confirm", {
      payload: VerifyRequest,
      success: ConfirmResponse,
      error: VerifyErrors
    }).annotate(RequiredScope, "passwordless:verify"),
    HttpApiEndpoint.get("status", "/v1/passwordless/:authRequestId", {
      params: { authRequestId: AuthRequestId },
      success: AuthRequestStatus,
      error: [NotFound, ServiceUnavailable]
    }).annotate(RequiredScope, "passwordless:send")
  )
  .middleware(ApiKeyAuth) {}
