import { Effect, Schema } from "effect"

/**
 * Scalekit's error body, its REST gateway's rendering of a gRPC status (google.rpc.Status as proto3
 * JSON): `{ code: <gRPC code>, message, details: [ErrorInfo] }`, e.g.
 * `{"code":16,"message":"Token empty","details":[{"@type":"type.googleapis.com/scalekit.v1.errdetails.ErrorInfo","error_code":"UNAUTHENTICATED"}]}`.
 * One class per gRPC code (and the edge's 413/415), each with the HTTP status the gateway maps it to.
 */
export const ERROR_INFO_TYPE = "type.googleapis.com/scalekit.v1.errdetails.ErrorInfo"

export const FieldViolation = Schema.Struct({ field: Schema.String, description: Schema.String })

export const ErrorInfo = Schema.Struct({
  "@type": Schema.Literal(ERROR_INFO_TYPE),
  error_code: Schema.String,
  /** scalekit.v1.errdetails.ValidationErrorInfo: which request field was refused. */
  validation_error_info: Schema.optionalKey(Schema.Struct({ field_violations: Schema.Array(FieldViolation) }))
})
export type ErrorInfo = typeof ErrorInfo.Type

/** The HTTP status of each class: the gRPC→HTTP mapping of Scalekit's gateway (3/9→400, 16→401, 7→403, 5→404, 8→429, 13→500, 14→503). */
export const httpStatus = {
  ScalekitInvalidArgument: 400,
  ScalekitFailedPrecondition: 400,
  ScalekitUnauthenticated: 401,
  ScalekitPermissionDenied: 403,
  ScalekitNotFound: 404,
  ScalekitPayloadTooLarge: 413,
  ScalekitUnsupportedMediaType: 415,
  ScalekitResourceExhausted: 429,
  ScalekitInternal: 500,
  ScalekitUnavailable: 503
} as const

const declared = <const Code extends number, const Name extends string>(
  code: Code,
  name: Name,
  status: number,
  message: string
) => [{
  code: Schema.tag(code),
  message: Schema.String.pipe(Schema.withConstructorDefault(Effect.succeed(message))),
  details: Schema.Array(ErrorInfo).pipe(
    Schema.withConstructorDefault(Effect.succeed<ReadonlyArray<ErrorInfo>>([{ "@type": ERROR_INFO_TYPE, error_code: name }]))
  )
}, { httpApiStatus: status }] as const

export class InvalidArgument extends Schema.Error<InvalidArgument>("ScalekitInvalidArgument")(
  ...declared(3, "INVALID_ARGUMENT", httpStatus.ScalekitInvalidArgument, "The request is not valid.")
) { readonly _tag = "ScalekitInvalidArgument" }

export class FailedPrecondition extends Schema.Error<FailedPrecondition>("ScalekitFailedPrecondition")(
  ...declared(9, "FAILED_PRECONDITION", httpStatus.ScalekitFailedPrecondition, "The code or link can no longer be used.")
) { readonly _tag = "ScalekitFailedPrecondition" }

export class Unauthenticated extends Schema.Error<Unauthenticated>("ScalekitUnauthenticated")(
  ...declared(16, "UNAUTHENTICATED", httpStatus.ScalekitUnauthenticated, "Token empty")
) { readonly _tag = "ScalekitUnauthenticated" }

export class PermissionDenied extends Schema.Error<PermissionDenied>("ScalekitPermissionDenied")(
  ...declared(7, "PERMISSION_DENIED", httpStatus.ScalekitPermissionDenied, "Permission denied.")
) { readonly _tag = "ScalekitPermissionDenied" }

export class NotFound extends Schema.Error<NotFound>("ScalekitNotFound")(
  ...declared(5, "NOT_FOUND", httpStatus.ScalekitNotFound, "Not Found")
) { readonly _tag = "ScalekitNotFound" }

export class PayloadTooLarge extends Schema.Error<PayloadTooLarge>("ScalekitPayloadTooLarge")(
  ...declared(8, "RESOURCE_EXHAUSTED", httpStatus.ScalekitPayloadTooLarge, "The request body is larger than 64 KiB.")
) { readonly _tag = "ScalekitPayloadTooLarge" }

export class UnsupportedMediaType extends Schema.Error<UnsupportedMediaType>("ScalekitUnsupportedMediaType")(
  ...declared(3, "INVALID_ARGUMENT", httpStatus.ScalekitUnsupportedMediaType, "The request body must be application/json.")
) { readonly _tag = "ScalekitUnsupportedMediaType" }

export class ResourceExhausted extends Schema.Error<ResourceExhausted>("ScalekitResourceExhausted")(
  ...declared(8, "RESOURCE_EXHAUSTED", httpStatus.ScalekitResourceExhausted, "Too many requests.")
) { readonly _tag = "ScalekitResourceExhausted" }

export class Internal extends Schema.Error<Internal>("ScalekitInternal")(
  ...declared(13, "INTERNAL", httpStatus.ScalekitInternal, "An internal error occurred.")
) { readonly _tag = "ScalekitInternal" }

export class Unavailable extends Schema.Error<Unavailable>("ScalekitUnavailable")(
  ...declared(14, "UNAVAILABLE", httpStatus.ScalekitUnavailable, "The service is temporarily unavailable. Try again shortly.")
) { readonly _tag = "ScalekitUnavailable" }

export type ScalekitError =
  | InvalidArgument | FailedPrecondition | Unauthenticated | PermissionDenied | NotFound | PayloadTooLarge
  | UnsupportedMediaType | ResourceExhausted | Internal | Unavailable

export const AllErrors = [
  InvalidArgument, FailedPrecondition, Unauthenticated, PermissionDenied, NotFound, PayloadTooLarge, UnsupportedMediaType,
  ResourceExhausted, Internal, Unavailable
] as const
