import { Context, Effect, Layer } from "effect"
import { type ServiceUnavailable, ValidationFailed } from "../api/Errors.ts"
import type { CurrentKey } from "../api/Security.ts"
import type { PreviewRequest, PreviewResponse } from "../api/Templates.ts"
import { isValidTemplateText, renderEmail } from "../delivery/EmailTemplate.ts"
import { Tenants } from "../tenants/Tenants.ts"
import { emailTexts } from "./EmailTexts.ts"
import { renderSms, smsLength, smsTemplateProblem } from "./Sms.ts"

export const SAMPLE = { code: "123456", link: "https://sesame.example/l/sample-link-token", expiresInMinutes: 15 } as const

export class TemplatePreview extends Context.Service<TemplatePreview, {
  readonly preview: (caller: CurrentKey["Service"], request: PreviewRequest) => Effect.Effect<PreviewResponse, ValidationFailed | ServiceUnavailable>
}>()("sesame/TemplatePreview") {}

/** A template that would not render is refused here, before any message depends on it. */
export const templateProblem = (request: PreviewRequest): ValidationFailed | undefined => {
  for (const [name, value] of Object.entries(request.emailContent ?? {})) {
    if (typeof value === "string" && !isValidTemplateText(value)) {
      return new ValidationFailed({ message: `emailContent.${name} is not a valid template`, field: `emailContent.${name}` })
    }
  }
  const sms = request.smsMessage === undefined ? undefined : smsTemplateProblem(request.smsMessage)
  return sms === undefined ? undefined : new ValidationFailed({ message: `smsMessage ${sms}`, field: "smsMessage" })
}

export const make = Effect.gen(function* () {
  const tenants = yield* Tenants
  const preview = Effect.fn("TemplatePreview.preview")(function* (caller: CurrentKey["Service"], request: PreviewRequest) {
    const problem = templateProblem(request)
    if (problem !== undefined) return yield* problem
    const policy = (yield* tenants.get(caller.tenantId).pipe(Effect.catchTag("NotFound", Effect.die))).modes[caller.mode].policy
    const type = request.type ?? "LINK_OTP"
    const { locale, texts } = emailTexts(request.locale)
    const email = renderEmail({
      type, template: request.template ?? "SIGNIN", locale: request.locale, appName: policy.appName,
      code: SAMPLE.code, link: SAMPLE.link, expiresInMinutes: SAMPLE.expiresInMinutes,
      templateVariables: request.templateVariables,
      content: {
        ...(policy.primaryColor === null ? {} : { primaryColor: policy.primaryColor }),
        ...(policy.logoUrl === null ? {} : { logoUrl: policy.logoUrl }),
        ...(policy.senderName === null ? {} : { senderName: policy.senderName }),
        ...request.emailContent
      }
    })
    const view: Record<string, string> = { ...request.templateVariables, appName: policy.appName, code: SAMPLE.code, expiresInMinutes: String(SAMPLE.expiresInMinutes) }
    const smsText = renderSms(request.smsMessage ?? texts.sms, view)
    return { locale, subject: email.subject, senderName: email.senderName, html: email.html, text: email.text, sms: { text: smsText, ...smsLength(smsText) } }
  })
  return TemplatePreview.of({ preview })
})

export const layer = Layer.effect(TemplatePreview)(make)
