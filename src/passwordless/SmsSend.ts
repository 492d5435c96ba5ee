import { Effect } from "effect"
import { ChannelDisabled, InvalidEmail, InvalidPhone, ValidationFailed } from "../api/Errors.ts"
import type { SendRequest } from "../api/Passwordless.ts"
import { normalizeEmail } from "../domain/Email.ts"
import type { Policy } from "../domain/TenantSettings.ts"
import { smsTemplateProblem } from "../templates/Sms.ts"
import { classifyPhone } from "../domain/Phone.ts"
import { MAX_SEGMENTS, segmentsOf, smsTemplateFor, smsText } from "./SmsText.ts"

/** Validates an SMS send: the number (E.164, libphonenumber), the optional bound email, the text and its length. */
export const checkSmsSend = (request: SendRequest, policy: Policy) =>
  Effect.gen(function* () {
    if (!policy.smsEnabled) return yield* new ChannelDisabled({})
    if (request.phone === undefined) return yield* new ValidationFailed({ message: "phone is required for sms", field: "phone" })
    const phone = classifyPhone(request.phone)
    if (phone === undefined) return yield* new InvalidPhone({})
    if ((request.type ?? "OTP") !== "OTP") {
      return yield* new ValidationFailed({ message: "sms sends one-time codes only (type OTP)", field: "type" })
    }
    for (const field of ["redirectUrl", "codeChallenge", "emailContent"] as const) {
      if (request[field] !== undefined) return yield* new ValidationFailed({ message: `${field} is for email`, field })
    }
    let email: string | null = null
    if (request.email !== undefined) {
      const normalized = normalizeEmail(request.email)
      if (normalized === undefined) return yield* new InvalidEmail({})
      email = normalized
    }
    const expiresIn = request.expiresIn ?? policy.otpTtlSeconds
    if (expiresIn > 900) return yield* new ValidationFailed({ message: "expiresIn must be 60..900 seconds for OTP", field: "expiresIn" })
    if (request.smsMessage !== undefined) {
      const problem = smsTemplateProblem(request.smsMessage)
      if (problem !== undefined) return yield* new ValidationFailed({ message: `smsMessage ${problem}`, field: "smsMessage" })
    }
    const codeLength = request.codeLength ?? 6
    // Measured with a code of the real length: digits are GSM-7, so the real text has the same length.
    const sample = smsText({
      template: smsTemplateFor(request.smsMessage, policy, request.template ?? "SIGNIN", request.locale ?? null), locale: request.locale ?? null, appName: policy.appName, code: "0".repeat(codeLength),
      expiresInMinutes: Math.max(1, Math.floor(expiresIn / 60)), approvalSummary: request.approval?.summary,
      templateVariables: request.templateVariables
    })
    if (segmentsOf(sample) > MAX_SEGMENTS) {
      return yield* new ValidationFailed({ message: `the SMS text is longer than ${MAX_SEGMENTS} segments`, field: "smsMessage" })
    }
    return { phone, email, expiresIn, codeLength }
  })
