import { Match, SchemaAST } from "effect"
import { edgeOf, type NativeFailure, type Product } from "../Kit.ts"
import { TRANSMIT_PREFIX, TRANSMIT_TOKEN_PATH } from "./Api.ts"
import {
  TransmitBadGateway, TransmitBadRequest, type TransmitError, TransmitErrors, TransmitForbidden, TransmitInternal,
  TransmitNotFound, TransmitPayloadTooLarge, TransmitTooManyRequests, TransmitUnauthorized, TransmitUnavailable,
  TransmitUnsupportedMediaType
} from "./Errors.ts"

/** Native field names as the caller wrote them (Transmit's), for the messages of refused inputs. */
const wireNames: ReadonlyArray<readonly [string, string]> = [
  ["redirectUrl", "redirect_uri"],
  ["emailContent", "email_content"],
  ["smsMessage", "custom_sms_input.custom_message"],
  ["approval", "approval_data"],
  ["client.ipAddress", "client_attributes.ip_address"],
  ["client.userAgent", "client_attributes.user_agent"],
  ["client", "client_attributes"]
]

export const transmitField = (field: string): string => {
  const hit = wireNames.find(([native]) => field === native || field.startsWith(`${native}.`))
  return hit === undefined ? field : hit[1] + field.slice(hit[0].length)
}

const renamed = (message: string, field: string | undefined) =>
  field !== undefined && message.startsWith(`${field}:`) ? transmitField(field) + message.slice(field.length) : message

export const invalidInput = (message: string) => new TransmitBadRequest({ message, error_code: "system_invalid_input" })

/** Transmit's answer to a wrong, unknown or spent passcode: one answer, so it tells nothing about the address. */
export const invalidCredentials = () => new TransmitBadRequest({ message: "Invalid credentials", error_code: "auth_invalid_credentials" })

/**
 * The native failures in Transmit's words ([outside seed] codes from Transmit's OpenAPI, COMPAT.md §5.3).
 * The handlers map the few that read differently per endpoint (a link's code, a passcode's absence)
 * before this table sees them (Flows.ts).
 */
const fromNative = (failure: NativeFailure): TransmitError =>
  Match.valueTags(failure, {
    ValidationFailed: (e) => invalidInput(renamed(e.message, e.field)),
    InvalidEmail: () => invalidInput("Invalid email address"),
    InvalidPhone: () => invalidInput("Invalid phone number"),
    RedirectNotAllowed: () => new TransmitBadRequest({ message: "redirect_uri is not one of the allowed redirect URIs configured for this app" }),
    ApiKeyMissing: () => new TransmitUnauthorized({}),
    ApiKeyInvalid: () => new TransmitUnauthorized({}),
    KeyRefused: () => new TransmitUnauthorized({}),
    TokenInvalid: () => new TransmitUnauthorized({}),
    TokenExpired: () => new TransmitUnauthorized({}),
    RefreshTokenReused: () => new TransmitUnauthorized({}),
    IpNotAllowed: (e) => new TransmitForbidden({ message: e.message }),
    ScopeMissing: (e) => new TransmitForbidden({ message: e.message }),
    ChannelDisabled: (e) => new TransmitForbidden({ message: e.message }),
    VoipNotAllowed: (e) => new TransmitForbidden({ message: e.message }),
    RiskBlocked: (e) => new TransmitForbidden({ message: e.message }),
    OriginMismatch: (e) => new TransmitForbidden({ message: e.message }),
    NotFound: (e) => new TransmitNotFound({ message: e.message }),
    CodeInvalid: invalidCredentials,
    AlreadyUsed: invalidCredentials,
    CodeExpired: () => new TransmitBadRequest({ message: "Passcode expired", error_code: "auth_otp_passcode_expired" }),
    TooManyAttempts: () => new TransmitForbidden({ message: "Too many failed attempts. The user is locked.", error_code: "auth_locked" }),
    ResendTooSoon: (e) => new TransmitTooManyRequests({ message: e.message }),
    RateLimited: (e) => new TransmitTooManyRequests({ message: e.message }),
    DeliveryFailed: (e) => new TransmitBadGateway({ message: e.message }),
    PayloadTooLarge: (e) => new TransmitPayloadTooLarge({ message: e.message }),
    UnsupportedMediaType: (e) => new TransmitUnsupportedMediaType({ message: e.message }),
    ServiceUnavailable: (e) => new TransmitUnavailable({ message: e.message }),
    Internal: () => new TransmitInternal({})
  })

/** The status each class declares (`httpApiStatus`), the one its endpoints answer with. */
const statusOf = SchemaAST.resolveAt<number>("httpApiStatus")

const render = (error: TransmitError) => {
  const schema = TransmitErrors.find((c) => error instanceof c) ?? TransmitInternal
  return { status: statusOf(schema.ast) ?? 500, body: { message: error.message, error_code: error.error_code } }
}

export const TransmitProduct: Product<TransmitError> = {
  prefix: TRANSMIT_PREFIX,
  fromNative,
  render,
  formPaths: [TRANSMIT_TOKEN_PATH]
}

export const TransmitEdge = edgeOf(TransmitProduct)
