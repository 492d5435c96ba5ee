import { Schema } from "effect"
import { ClientCredentialsFields, ClientCredentialsTokenFields } from "../OAuth.ts"
import { HttpApiSchema } from "effect/http-api"

/**
 * Transmit Security one-time login's wire names (seed 004; Transmit's published OpenAPI where the seed is
 * silent). Lengths and formats are checked again by the native request schemas the adapter translates
 * into (Flows.ts), so only Transmit's own units and rules are stated here.
 */

export const EmailContent = Schema.Struct({
  subject: Schema.optionalKey(Schema.String),
  primaryColor: Schema.optionalKey(Schema.String),
  /** Accepted and not used: Sesame's emails show the tenant's https logo (docs/compat.md). */
  base64logo: Schema.optionalKey(Schema.String.check(Schema.isMaxLength(20_000))),
  headerText: Schema.optionalKey(Schema.String),
  bodyText: Schema.optionalKey(Schema.String),
  linkText: Schema.optionalKey(Schema.String),
  infoText: Schema.optionalKey(Schema.String),
  footerText: Schema.optionalKey(Schema.String),
  senderName: Schema.optionalKey(Schema.String)
})
export type EmailContent = typeof EmailContent.Type

export const ClientAttributes = Schema.Struct({
  user_agent: Schema.optionalKey(Schema.String),
  ip_address: Schema.optionalKey(Schema.String)
})
export type ClientAttributes = typeof ClientAttributes.Type

/** The token requests' common fields (T2, T4); `resource`, `claims`, `org_id`, `session_id`: Flows.ts says what each does. */
const TokenRequestFields = {
  resource: Schema.optionalKey(Schema.String),
  claims: Schema.optionalKey(Schema.Record(Schema.String, Schema.Json)),
  org_id: Schema.optionalKey(Schema.String),
  client_attributes: Schema.optionalKey(ClientAttributes),
  session_id: Schema.optionalKey(Schema.String)
}

const Minutes = (max: number) => Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: max }))

export const LinkSendRequest = Schema.Struct({
  email: Schema.optionalKey(Schema.String),
  /** The real API's replacement for `email`: `identifier_type: "email"` + `identifier`. */
  identifier: Schema.optionalKey(Schema.String),
  identifier_type: Schema.optionalKey(Schema.String),
  redirect_uri: Schema.String,
  email_content: Schema.optionalKey(EmailContent),
  state: Schema.optionalKey(Schema.String),
  /** Minutes the link lives (1–60; Sesame's links live at most an hour). */
  email_expiration: Schema.optionalKey(Minutes(60)),
  channel: Schema.optionalKey(Schema.Literals(["email", "direct"])),
  client_attributes: Schema.optionalKey(ClientAttributes)
})
export type LinkSendRequest = typeof LinkSendRequest.Type

export const LinkSendResponse = Schema.Struct({ message: Schema.String })

export const LinkAuthenticateRequest = Schema.Struct({ ...TokenRequestFields, code: Schema.String })
export type LinkAuthenticateRequest = typeof LinkAuthenticateRequest.Type

/** Transmit: a flat object, at most 10 keys of letters, digits, `_`, `-` and `.`; echoed back and signed into the ID token. */
const APPROVAL_KEY = /^[A-Za-z0-9_.-]{1,64}$/
export const ApprovalData = Schema.Record(Schema.String, Schema.Union([Schema.String, Schema.Finite, Schema.Boolean])).check(
  Schema.isMaxProperties(10),
  // on the whole object: a Record's key schema would drop a bad key silently, not refuse it
  Schema.makeFilter((data) => Object.keys(data).every((key) => APPROVAL_KEY.test(key)) || "keys must be 1-64 letters, digits, _, - or .")
)
export type ApprovalData = typeof ApprovalData.Type

export const OtpSendRequest = Schema.Struct({
  channel: Schema.Literals(["email", "sms", "direct"]),
  identifier_type: Schema.String,
  identifier: Schema.String,
  email_content: Schema.optionalKey(EmailContent),
  custom_sms_input: Schema.optionalKey(Schema.Struct({
    /** Must hold `{otp}` and `{app}`; at most 140 characters. */
    custom_message: Schema.optionalKey(Schema.String.check(Schema.isMaxLength(140))),
    /** Accepted and not used: the SMS sender is the deployment's (docs/compat.md). */
    sender_id: Schema.optionalKey(Schema.String.check(Schema.isMaxLength(11)))
  })),
  approval_data: Schema.optionalKey(ApprovalData),
  custom_email: Schema.optionalKey(Schema.String),
  custom_phone_number: Schema.optionalKey(Schema.String),
  client_attributes: Schema.optionalKey(ClientAttributes),
  /** [outside seed] Minutes the passcode lives (1–15). */
  expires_in: Schema.optionalKey(Minutes(15))
})
export type OtpSendRequest = typeof OtpSendRequest.Type

export const OtpSendResponse = Schema.Struct({
  message: Schema.String,
  approval_data: Schema.optionalKey(ApprovalData),
  /** The passcode: test keys only (Sesame never returns a live code). */
  code: Schema.optionalKey(Schema.String)
})
export type OtpSendResponse = typeof OtpSendResponse.Type

export const OtpAuthenticateRequest = Schema.Struct({
  ...TokenRequestFields,
  passcode: Schema.String,
  identifier_type: Schema.String,
  identifier: Schema.String
})
export type OtpAuthenticateRequest = typeof OtpAuthenticateRequest.Type

export const Tokens = Schema.Struct({
  access_token: Schema.String,
  id_token: Schema.String,
  refresh_token: Schema.String,
  token_type: Schema.Literal("Bearer"),
  expires_in: Schema.Int,
  session_id: Schema.String
})
export type Tokens = typeof Tokens.Type

/**
 * `POST /oidc/token` [outside seed]: client credentials (the Sesame key as `client_secret` or HTTP
 * Basic's password), or `refresh_token` to rotate the tokens of a sign-in. A form (RFC 6749 §4.4.2),
 * or the same fields as JSON.
 */
export const OidcTokenRequest = Schema.Struct({
  ...ClientCredentialsFields,
  resource: Schema.optionalKey(Schema.String),
  refresh_token: Schema.optionalKey(Schema.String)
})
export type OidcTokenRequest = typeof OidcTokenRequest.Type
export const OidcTokenForm = OidcTokenRequest.pipe(HttpApiSchema.asFormUrlEncoded())

export const OidcTokenResponse = Schema.Struct({
  ...ClientCredentialsTokenFields,
  /** refresh_token grant only. */
  id_token: Schema.optionalKey(Schema.String),
  refresh_token: Schema.optionalKey(Schema.String),
  session_id: Schema.optionalKey(Schema.String)
})
export type OidcTokenResponse = typeof OidcTokenResponse.Type
