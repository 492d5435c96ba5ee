import { Effect, Schema, SchemaIssue } from "effect"
import { ValidationFailed } from "../../api/Errors.ts"
import {
  type ConfirmResponse, ResendRequest, SendRequest, type SendResponse, VerifyRequest
} from "../../api/Passwordless.ts"
import type { SendAnswer, SendBody, VerifyAnswer, VerifyBody } from "./Api.ts"

/** Scalekit's default lifetime of a code or link (SendPasswordlessRequest.expires_in). */
export const DEFAULT_EXPIRES_IN = 300
/** Native `state` holds 512 characters; Scalekit's up to 1000, so a longer one rides in the request's metadata. */
const NATIVE_STATE_MAX = 512
export const STATE_KEY = "scalekit_state"

const formatIssues = SchemaIssue.makeFormatterStandardSchemaV1()

/**
 * The translated request goes through the native request schema, so every native input rule (lengths,
 * ranges, patterns) holds exactly as on `/v1`; its refusals name the native field (Product.ts renames).
 */
const decode = <S extends Schema.Decoder<unknown>>(schema: S) => (input: unknown) =>
  Schema.decodeUnknownEffect(schema)(input).pipe(Effect.mapError((error) => {
    const first = formatIssues(error.issue).issues[0]
    const path = (first?.path ?? []).map((s) => String(typeof s === "object" && s !== null && "key" in s ? s.key : s))
    const field = path.length === 0 ? undefined : path.join(".")
    const message = `${field === undefined ? "" : `${field}: `}${first?.message ?? "is not valid"}`
    return new ValidationFailed(field === undefined ? { message } : { message, field })
  }))

/**
 * Scalekit's variable names are any 2–25 characters; native ones are identifiers (Mustache names). Each
 * character outside `[A-Za-z0-9_]` becomes `_` (`team-name` → `{{team_name}}`), a leading digit gets a
 * `_`; two names that land on one are refused rather than one silently overwriting the other.
 */
const nativeVariables = (variables: Readonly<Record<string, string>> | undefined) =>
  Effect.gen(function* () {
    if (variables === undefined) return undefined
    const mapped: Record<string, string> = {}
    const from = new Map<string, string>()
    for (const [name, value] of Object.entries(variables)) {
      const safe = name.replace(/[^A-Za-z0-9_]/g, "_")
      const native = /^[A-Za-z_]/.test(safe) ? safe : `_${safe}`
      const taken = from.get(native)
      if (taken !== undefined) {
        return yield* new ValidationFailed({
          message: `templateVariables: ${taken} and ${name} would both be {{${native}}}`,
          field: `templateVariables.${name}`
        })
      }
      from.set(native, name)
      mapped[native] = value
    }
    return mapped
  })

/**
 * A Scalekit send as a native one: the tenant's type (no `type`), an email link that lands on
 * `magiclink_auth_uri?link_token=…` whatever the tenant's link mode, Scalekit's default lifetime.
 */
export const nativeSend = (body: SendBody) =>
  Effect.gen(function* () {
    const variables = yield* nativeVariables(body.template_variables)
    const state = body.state === undefined ? {}
      : body.state.length > NATIVE_STATE_MAX ? { metadata: { [STATE_KEY]: body.state } } : { state: body.state }
    return yield* decode(SendRequest)({
      channel: "email",
      email: body.email,
      expiresIn: body.expires_in ?? DEFAULT_EXPIRES_IN,
      ...state,
      ...(body.template === undefined || body.template === "UNSPECIFIED" ? {} : { template: body.template }),
      ...(body.magiclink_auth_uri === undefined ? {} : { redirectUrl: body.magiclink_auth_uri }),
      linkMode: "direct",
      linkParam: "link_token",
      ...(variables === undefined ? {} : { templateVariables: variables })
    })
  })

export const nativeResend = (body: { readonly auth_request_id: string }) =>
  Effect.map(decode(ResendRequest)({ authRequestId: body.auth_request_id }), (request) => request.authRequestId)

export const nativeVerify = (body: VerifyBody) =>
  decode(VerifyRequest)({
    ...(body.code === undefined ? {} : { code: body.code }),
    ...(body.link_token === undefined ? {} : { linkToken: body.link_token }),
    ...(body.auth_request_id === undefined ? {} : { authRequestId: body.auth_request_id })
  })

export const sendAnswer = (sent: SendResponse): SendAnswer => ({
  auth_request_id: sent.authRequestId,
  expires_at: String(sent.expiresAt),
  expires_in: sent.expiresIn,
  passwordless_type: sent.type
})

const longState = (metadata: ConfirmResponse["authRequest"]["metadata"]) => {
  const value = metadata?.[STATE_KEY]
  return typeof value === "string" ? value : undefined
}

export const verifyAnswer = (confirmed: ConfirmResponse): VerifyAnswer => {
  const state = confirmed.authRequest.state ?? longState(confirmed.authRequest.metadata)
  return {
    // an email request's user always has the email; "" is proto3's value for an unset string
    email: confirmed.user.email ?? "",
    ...(state === undefined ? {} : { state }),
    template: confirmed.authRequest.template,
    passwordless_type: confirmed.authRequest.type
  }
}
