import { Schema } from "effect"
import { HttpApiEndpoint, HttpApiGroup } from "effect/http-api"
import { ServiceUnavailable, ValidationFailed } from "./Errors.ts"
import { SendRequest } from "./Passwordless.ts"
import { ApiKeyAuth, RequiredScope } from "./Security.ts"

const f = SendRequest.fields

/** What to preview: the same template inputs a send takes, rendered with sample data. */
export const PreviewRequest = Schema.Struct({
  template: f.template,
  type: f.type,
  locale: f.locale,
  emailContent: f.emailContent,
  templateVariables: f.templateVariables,
  smsMessage: f.smsMessage
})
export type PreviewRequest = typeof PreviewRequest.Type

export const PreviewResponse = Schema.Struct({
  /** The built-in locale the defaults were taken from (after fallback). */
  locale: Schema.String,
  subject: Schema.String,
  senderName: Schema.String,
  html: Schema.String,
  text: Schema.String,
  sms: Schema.Struct({
    text: Schema.String,
    encoding: Schema.Literals(["GSM-7", "UCS-2"]),
    units: Schema.Int,
    segments: Schema.Int
  })
})
export type PreviewResponse = typeof PreviewResponse.Type

export class TemplatesApi extends HttpApiGroup.make("templates")
  .add(
    HttpApiEndpoint.post("preview", "/v1/tenant/templates/preview", {
      payload: PreviewRequest,
      success: PreviewResponse,
      error: [ValidationFailed, ServiceUnavailable]
    }).annotate(RequiredScope, "tenant:manage")
  )
  .middleware(ApiKeyAuth) {}
