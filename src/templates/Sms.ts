import Mustache from "mustache"
import { stripBidi } from "../domain/Bidi.ts"

// GSM 03.38 basic set and the extension table (escape + char: two septets each).
const GSM_BASIC = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
const GSM_EXTENDED = "^{}\\[~]|€\f"

export interface SmsLength {
  readonly encoding: "GSM-7" | "UCS-2"
  /** Septets (GSM-7) or UTF-16 code units (UCS-2). */
  readonly units: number
  readonly segments: number
}

/** How a carrier will split the text: 160/153 septets in GSM-7, 70/67 UTF-16 units once any character needs UCS-2. */
export const smsLength = (text: string): SmsLength => {
  let septets = 0
  for (const ch of text) {
    if (GSM_BASIC.includes(ch)) septets += 1
    else if (GSM_EXTENDED.includes(ch)) septets += 2
    else {
      const units = text.length
      return { encoding: "UCS-2", units, segments: units <= 70 ? 1 : Math.ceil(units / 67) }
    }
  }
  return { encoding: "GSM-7", units: septets, segments: septets <= 160 ? 1 : Math.ceil(septets / 153) }
}

const TAGS: [string, string] = ["{{", "}}"]

/**
 * Renders an SMS template. Plain text, so no HTML escaping; control characters other than LF are
 * dropped so a variable cannot inject carrier control sequences, and bidi controls are dropped from
 * the whole text (domain/Bidi.ts). A fresh Writer: user templates must
 * not grow Mustache's global cache.
 */
export const renderSms = (template: string, view: Readonly<Record<string, string>>): string => {
  const safe: Record<string, string> = Object.create(null)
  for (const [k, v] of Object.entries(view)) safe[k] = v.replace(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/gu, "")
  return stripBidi(new Mustache.Writer().render(template, safe, {}, { escape: String, tags: TAGS })).trim()
}

/** Why an SMS template would be refused when saved; undefined when it is fine. */
export const smsTemplateProblem = (template: string): string | undefined => {
  try {
    new Mustache.Writer().parse(template, TAGS)
  } catch (e) {
    return `does not parse: ${e instanceof Error ? e.message : String(e)}`
  }
  return /\{\{\s*code\s*\}\}/u.test(template) ? undefined : "must contain {{code}}"
}
