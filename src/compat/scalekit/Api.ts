import { Schema } from "effect"
import { HttpApiEndpoint, HttpApiGroup, HttpApiMiddleware, HttpApiSchema, HttpApiSecurity, OpenApi } from "effect/http-api"
import { CurrentKey, RequiredScope } from "../../api/Security.ts"
import { ClientCredentialsRequest, ClientCredentialsToken } from "../OAuth.ts"
import { AuthType, Template } from "../../domain/Ids.ts"
import {
  AllErrors, FailedPrecondition, InvalidArgument, NotFound, PermissionDenied, ResourceExhausted, Unauthenticated, Unavailable
} from "./Errors.ts"

/**
 * Scalekit's headless passwordless REST API (magic link & OTP by email) under `/compat/scalekit`:
 * snake_case bodies as Scalekit's gateway speaks them (proto3 JSON: `expires_at` is an int64, so a
 * string). The passwordless type is not a request field: it is the tenant's `defaultType`.
 */
export const PREFIX = "/compat/scalekit"

/** Scalekit refuses these names: its own template fills them (SendPasswordlessRequest.template_variables). */
export const RESERVED_VARIABLES: ReadonlyArray<string> = ["otp", "link", "expire_time", "expiry_time", "expiry_time_relative"]

/** Checked on the whole map: a record drops the keys its key schema refuses instead of failing. */
const variableNames = Schema.makeFilter((variables: Readonly<Record<string, string>>) => {
  for (const name of Object.keys(variables)) {
    if (RESERVED_VARIABLES.includes(name)) return `${name} is reserved`
    if (name.length < 2 || name.length > 25) return `${name}: a name has 2 to 25 characters`
  }
  return true
})

export const SendBody = Schema.Struct({
  email: Schema.String,
  /** Seconds; default 300. */
  expires_in: Schema.optionalKey(Schema.Int),
  /** Echoed by verify; up to 1000 characters, no control characters. */
  state: Schema.optionalKey(Schema.String.check(
    Schema.isMinLength(1),
    Schema.isMaxLength(1000),
    Schema.isPattern(/^[^\u0000-\u001f\u007f]*$/, { message: "must not contain control characters" })
  )),
  template: Schema.optionalKey(Schema.Literals(["SIGNIN", "SIGNUP", "UNSPECIFIED"])),
  /** Links land on `<magiclink_auth_uri>?link_token=<link_token>`; required when the type is LINK or LINK_OTP. */
  magiclink_auth_uri: Schema.optionalKey(Schema.String),
  template_variables: Schema.optionalKey(
    Schema.Record(Schema.String, Schema.String.check(Schema.isMaxLength(256))).check(Schema.isMaxProperties(30), variableNames)
  )
})
export type SendBody = typeof SendBody.Type

export const ResendBody = Schema.Struct({ auth_request_id: Schema.String })
export type ResendBody = typeof ResendBody.Type

/** Exactly one of `code` (with `auth_request_id`) and `link_token` (`auth_request_id` optional unless same-origin links are on). */
export const VerifyBody = Schema.Struct({
  code: Schema.optionalKey(Schema.String),
  link_token: Schema.optionalKey(Schema.String),
  auth_request_id: Schema.optionalKey(Schema.String)
})
export type VerifyBody = typeof VerifyBody.Type

export const SendAnswer = Schema.Struct({
  auth_request_id: Schema.String,
  /** Unix seconds as a string of digits (proto3 JSON of an int64). */
  expires_at: Schema.String.check(Schema.isPattern(/^[0-9]+$/)),
  expires_in: Schema.Int,
  passwordless_type: AuthType
})
export type SendAnswer = typeof SendAnswer.Type

export const VerifyAnswer = Schema.Struct({
  email: Schema.String,
  /** The send's `state`; absent when none was sent (proto3 optional). */
  state: Schema.optionalKey(Schema.String),
  template: Template,
  passwordless_type: AuthType
})
export type VerifyAnswer = typeof VerifyAnswer.Type

/** OAuth 2.0 client credentials (RFC 6749 §4.4): `client_secret` is the Sesame API key. */
export const TokenRequest = ClientCredentialsRequest
export const TokenAnswer = ClientCredentialsToken

/** `Authorization: Bearer <Sesame key or /oauth/token access token>`, refused in Scalekit's words. */
export class ScalekitAuth extends HttpApiMiddleware.Service<ScalekitAuth, { provides: CurrentKey }>()("sesame/compat/ScalekitAuth", {
  // keyAuthOf answers in the product's code table, so every class can come out of it
  error: AllErrors,
  security: { bearer: HttpApiSecurity.bearer }
}) {}

/** The request guard (bad JSON, decoding failures, defects) answering in Scalekit's words. */
export class ScalekitGuard extends HttpApiMiddleware.Service<ScalekitGuard>()("sesame/compat/ScalekitGuard", {
  error: AllErrors
}) {}

const passwordless = `${PREFIX}/api/v1/passwordless/email` as const

export class ScalekitApi extends HttpApiGroup.make("scalekit")
  .add(
    HttpApiEndpoint.post("send", `${passwordless}/send`, {
      payload: SendBody,
      success: SendAnswer,
      error: [InvalidArgument, PermissionDenied, ResourceExhausted, Unavailable]
    }).annotate(RequiredScope, "passwordless:send"),
    HttpApiEndpoint.post("resend", `${passwordless}/resend`, {
      payload: ResendBody,
      success: SendAnswer,
      error: [InvalidArgument, FailedPrecondition, NotFound, ResourceExhausted, Unavailable]
    }).annotate(RequiredScope, "passwordless:send"),
    HttpApiEndpoint.post("verify", `${passwordless}/verify`, {
      payload: VerifyBody,
      success: VerifyAnswer,
      error: [InvalidArgument, FailedPrecondition, NotFound, PermissionDenied, ResourceExhausted, Unavailable]
    }).annotate(RequiredScope, "passwordless:verify")
  )
  .middleware(ScalekitAuth)
  .add(
    HttpApiEndpoint.post("token", `${PREFIX}/oauth/token`, {
      // a form, as OAuth clients and Scalekit's SDKs post it; JSON too
      payload: [TokenRequest.pipe(HttpApiSchema.asFormUrlEncoded()), TokenRequest],
      success: TokenAnswer,
      error: [InvalidArgument, Unauthenticated, Unavailable]
    })
  )
  .middleware(ScalekitGuard)
  .annotate(OpenApi.Description, "Scalekit compatibility: headless magic link & OTP (docs/compat.md).") {}
