import type { NativeFailure, Product } from "../Kit.ts"
import { PREFIX } from "./Api.ts"
import {
  ERROR_INFO_TYPE, type ErrorInfo, FailedPrecondition, httpStatus, Internal, InvalidArgument, NotFound, PayloadTooLarge,
  PermissionDenied, ResourceExhausted, type ScalekitError, Unauthenticated, Unavailable, UnsupportedMediaType
} from "./Errors.ts"

/** Native field names in Scalekit's words (the state moves to metadata past 512 characters, Translate.ts). */
const fieldNames: Readonly<Record<string, string>> = {
  authRequestId: "auth_request_id",
  linkToken: "link_token",
  expiresIn: "expires_in",
  redirectUrl: "magiclink_auth_uri",
  templateVariables: "template_variables",
  metadata: "state"
}
const nativeName = new RegExp(`\\b(${Object.keys(fieldNames).join("|")})\\b`, "g")
const scalekitWords = (text: string) => text.replace(nativeName, (name) => fieldNames[name] ?? name)

const info = (errorCode: string, field?: string, description?: string): ReadonlyArray<ErrorInfo> => [{
  "@type": ERROR_INFO_TYPE,
  error_code: errorCode,
  ...(field === undefined ? {} : {
    validation_error_info: { field_violations: [{ field: scalekitWords(field), description: scalekitWords(description ?? "") }] }
  })
}]

const keyMessages = { unknown: "Invalid token", revoked: "Token revoked", expired: "Token expired" } as const

/**
 * Every native failure as a gRPC status (COMPAT.md §2.4): bad input and a wrong code are
 * INVALID_ARGUMENT; an expired or spent code/link is FAILED_PRECONDITION (both 400); keys are
 * UNAUTHENTICATED (401) whatever the reason, the message says which; limits, cooldowns and a locked
 * request are RESOURCE_EXHAUSTED (429, with Retry-After from the native failure).
 */
export const fromNative = (failure: NativeFailure): ScalekitError => {
  switch (failure._tag) {
    case "ValidationFailed":
      return new InvalidArgument({
        message: scalekitWords(failure.message),
        details: info("INVALID_ARGUMENT", failure.field, failure.message)
      })
    case "CodeInvalid":
      return new InvalidArgument({ message: `${failure.message} Attempts remaining: ${failure.attemptsRemaining}.` })
    case "InvalidEmail":
    case "InvalidPhone":
    case "RedirectNotAllowed":
      return new InvalidArgument({ message: failure.message })
    case "CodeExpired":
    case "AlreadyUsed":
      return new FailedPrecondition({ message: failure.message })
    case "ApiKeyMissing":
      return new Unauthenticated({})
    case "ApiKeyInvalid":
    case "TokenInvalid":
    case "TokenExpired":
    case "RefreshTokenReused":
      return new Unauthenticated({ message: keyMessages.unknown })
    case "KeyRefused":
      return new Unauthenticated({ message: keyMessages[failure.reason] })
    case "IpNotAllowed":
    case "ScopeMissing":
    case "ChannelDisabled":
    case "VoipNotAllowed":
    case "RiskBlocked":
    case "OriginMismatch":
      return new PermissionDenied({ message: failure.message })
    case "NotFound":
      return new NotFound({ message: failure.message })
    case "TooManyAttempts":
    case "ResendTooSoon":
    case "RateLimited":
      return new ResourceExhausted({ message: failure.message })
    case "PayloadTooLarge":
      return new PayloadTooLarge({ message: failure.message })
    case "UnsupportedMediaType":
      return new UnsupportedMediaType({ message: failure.message })
    case "DeliveryFailed":
    case "ServiceUnavailable":
      return new Unavailable({ message: failure.message })
    case "Internal":
      return new Internal({})
  }
}

export const render = (error: ScalekitError) => ({
  status: httpStatus[error._tag],
  body: { code: error.code, message: error.message, details: error.details }
})

export const Scalekit: Product<ScalekitError> = {
  prefix: PREFIX,
  fromNative,
  render,
  formPaths: [`${PREFIX}/oauth/token`]
}
