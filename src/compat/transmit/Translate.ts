import { Effect, Schema, SchemaIssue } from "effect"
import { ValidationFailed } from "../../api/Errors.ts"
import type { VerifyResponse } from "../../api/Passwordless.ts"
import type { Mode } from "../../domain/Ids.ts"
import { normalizeEmail } from "../../domain/Email.ts"
import { classifyPhone } from "../../domain/Phone.ts"
import { TransmitBadRequest } from "./Errors.ts"
import { invalidInput } from "./Product.ts"
import type { ApprovalData, ClientAttributes, EmailContent, OtpSendRequest, Tokens } from "./Schemas.ts"

/** A plain object without its undefined members: what an optional key of the native schemas accepts. */
export const compact = (fields: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined))

const formatIssues = SchemaIssue.makeFormatterStandardSchemaV1()
const pathOf = (segments: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }>) =>
  segments.map((s) => String(typeof s === "object" ? s.key : s)).join(".")

/**
 * The translated request decoded by the native endpoint's own schema, so every native input rule
 * (lengths, control characters, formats, ranges) holds exactly as on `/v1`; a refusal is the native
 * VALIDATION_FAILED, which the product's table words as `system_invalid_input`.
 */
export const nativeInput = <S extends Schema.Decoder<unknown>>(schema: S) => {
  const decode = Schema.decodeUnknownEffect(schema)
  return (value: unknown) =>
    Effect.mapError(decode(value), (error) => {
      const first = formatIssues(error.issue).issues[0]
      const field = first?.path !== undefined && first.path.length > 0 ? pathOf(first.path) : undefined
      const message = first === undefined ? "The request is not valid." : field === undefined ? first.message : `${field}: ${first.message}`
      return new ValidationFailed(field === undefined ? { message } : { message, field })
    })
}

/** `base64logo` is left out: native emails show the tenant's https logo only. */
export const emailContentOf = (content: EmailContent | undefined) =>
  content === undefined ? undefined : compact({
    subject: content.subject, senderName: content.senderName, primaryColor: content.primaryColor, headerText: content.headerText,
    bodyText: content.bodyText, linkText: content.linkText, infoText: content.infoText, footerText: content.footerText
  })

export const clientOf = (client: ClientAttributes | undefined) =>
  client === undefined ? undefined : compact({ ipAddress: client.ip_address, userAgent: client.user_agent })

const SUMMARY_MAX = 512

/**
 * `approval_data` → native `approval`: the pairs as `data` (the ID token's `approval_data` claim),
 * `transaction_id` as the transaction, the other pairs as the summary the message shows.
 */
export const approvalOf = (approvalData: ApprovalData | undefined) => {
  if (approvalData === undefined || Object.keys(approvalData).length === 0) return undefined
  const data = Object.fromEntries(Object.entries(approvalData).map(([key, value]) => [key, String(value)]))
  const { transaction_id: transactionId = "", ...rest } = data
  const listed = Object.entries(rest).map(([key, value]) => `${key}: ${value}`).join(", ")
  const summary = listed === "" ? transactionId : listed
  return { transactionId, summary: summary.length > SUMMARY_MAX ? `${summary.slice(0, SUMMARY_MAX - 1)}…` : summary, data }
}

/**
 * Transmit's `{otp}`/`{app}` placeholders → native `{{code}}`/`{{appName}}`. Mustache's own tags in the
 * text are refused: the caller's words must not become template code.
 */
export const smsMessageOf = (message: string | undefined) => {
  if (message === undefined) return Effect.succeed(undefined)
  if (/\{\{|\}\}/.test(message)) return Effect.fail(invalidInput("custom_sms_input.custom_message must not contain {{ or }}"))
  if (!message.includes("{otp}") || !message.includes("{app}")) {
    return Effect.fail(invalidInput("custom_sms_input.custom_message must contain {otp} and {app}"))
  }
  return Effect.succeed(message.replaceAll("{otp}", "{{code}}").replaceAll("{app}", "{{appName}}"))
}

export const tokensOf = (verified: VerifyResponse): Tokens => ({
  access_token: verified.session.accessToken,
  id_token: verified.idToken,
  refresh_token: verified.session.refreshToken,
  token_type: "Bearer",
  expires_in: verified.session.expiresIn,
  session_id: verified.session.id
})

/** `channel: "direct"` returns the code instead of delivering it: only test keys get codes back. */
export const refuseLiveDirect = (mode: Mode, channel: string | undefined) =>
  channel === "direct" && mode === "live"
    ? Effect.fail(invalidInput("channel direct is not supported with a live key: Sesame never returns a live code"))
    : Effect.void

const sameEmail = (a: string, b: string) => normalizeEmail(a) !== undefined && normalizeEmail(a) === normalizeEmail(b)
const samePhone = (a: string, b: string) => classifyPhone(a) !== undefined && classifyPhone(a)?.e164 === classifyPhone(b)?.e164

/**
 * Where an OTP goes and whom it proves, as the native send's fields. Sesame delivers to the identity
 * itself, so `custom_email`/`custom_phone_number` must name it — except an SMS for an email identity,
 * which goes to `custom_phone_number` bound to that email (verified later by the email).
 */
export const otpAddressOf = (request: OtpSendRequest, mode: Mode) =>
  Effect.gen(function* () {
    yield* refuseLiveDirect(mode, request.channel)
    const type = request.identifier_type
    if (type !== "email" && type !== "phone_number") {
      return yield* invalidInput(`identifier_type ${type} is not supported: use email or phone_number`)
    }
    const channel = request.channel === "direct" ? (type === "email" ? "email" : "sms") : request.channel
    if (channel === "email") {
      if (type !== "email") return yield* invalidInput("channel email needs identifier_type email")
      if (request.custom_email !== undefined && !sameEmail(request.custom_email, request.identifier)) {
        return yield* invalidInput("custom_email must be the identifier: Sesame sends a code to the address it proves")
      }
      return { channel, email: request.identifier }
    }
    if (type === "phone_number") {
      if (request.custom_phone_number !== undefined && !samePhone(request.custom_phone_number, request.identifier)) {
        return yield* invalidInput("custom_phone_number must be the identifier when identifier_type is phone_number")
      }
      return { channel, phone: request.identifier }
    }
    // Sesame looks up no phone for an email: it would tell the caller which addresses have one.
    if (request.custom_phone_number === undefined) {
      return yield* invalidInput("custom_phone_number is required to send an SMS for identifier_type email")
    }
    return { channel, phone: request.custom_phone_number, email: request.identifier }
  })

export const invalidLinkCode = (message = "Invalid magic link code") => new TransmitBadRequest({ message })
