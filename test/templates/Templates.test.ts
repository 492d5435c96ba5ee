import { assert, describe, it } from "@effect/vitest"
import { Schema } from "effect"
import { SendRequest } from "../../src/api/Passwordless.ts"
import { PreviewRequest } from "../../src/api/Templates.ts"
import { renderEmail } from "../../src/delivery/EmailTemplate.ts"
import { renderLinkPage } from "../../src/http/LinkPageHtml.ts"
import { accessibleAccent, contrastRatio } from "../../src/templates/Contrast.ts"
import { emailTexts } from "../../src/templates/EmailTexts.ts"
import { pickLocale } from "../../src/templates/Locale.ts"
import { templateProblem } from "../../src/templates/Preview.ts"
import { renderSms, smsLength, smsTemplateProblem } from "../../src/templates/Sms.ts"

const base = { type: "LINK_OTP", template: "SIGNIN", appName: "Acme", code: "123456", link: "https://a.example/l/tok", expiresInMinutes: 15 } as const

describe("templates", () => {
  it("hostile values are escaped in HTML and cannot break the subject line", () => {
    const hostile = "<script>alert(1)</script>"
    const email = renderEmail({
      ...base,
      templateVariables: { name: hostile, crlf: "x\r\nBcc: evil@example.com" },
      content: { subject: "Hi {{crlf}} {{{name}}}", bodyText: "Hello {{name}} / {{{name}}} / {{&name}}", headerText: "{{name}}" }
    })
    assert.notInclude(email.html, "<script")
    assert.include(email.html, "&lt;script&gt;")
    assert.notMatch(email.subject, /[\r\n]/)
    assert.include(email.subject, "Bcc: evil@example.com") // kept as text, on the one line
    assert.include(email.text, hostile) // the text part is plain text: nothing to escape
    const page = renderLinkPage({
      _tag: "Used",
      page: { appName: hostile, email: null, locale: null, primaryColor: null, logoUrl: null, backUrl: "https://a.example/\"onmouseover=x", redirectOrigin: null }
    })
    assert.notInclude(page.html, "<script")
    assert.notInclude(page.html, "\"onmouseover")
  })

  it("locale falls back from region to language to English", () => {
    assert.strictEqual(pickLocale("fr-CA", ["en", "fr"], "en"), "fr")
    assert.strictEqual(pickLocale("DE", ["en", "de"], "en"), "de")
    assert.strictEqual(pickLocale("pt-BR", ["en", "fr"], "en"), "en")
    assert.strictEqual(pickLocale(null, ["en", "fr"], "en"), "en")
    assert.strictEqual(emailTexts("es-MX").locale, "es")
    assert.strictEqual(renderEmail({ ...base, locale: "fr-CA" }).subject, "Connexion à Acme")
    assert.strictEqual(renderEmail({ ...base, locale: "de" }).subject, "Bei Acme anmelden")
    assert.strictEqual(renderEmail({ ...base, locale: "es" }).subject, "Inicia sesión en Acme")
    assert.strictEqual(renderEmail({ ...base, locale: "ja" }).subject, renderEmail(base).subject)
    const fr = renderEmail({ ...base, type: "OTP", locale: "fr" })
    assert.include(fr.text, "Il expire dans 15 minutes")
    assert.include(fr.html, "123456")
  })

  it("at most 30 template variables", () => {
    const vars = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`v${i}`, "x"]))
    assert.isTrue(Schema.is(SendRequest)({ email: "a@b.c", templateVariables: vars(30) }))
    assert.isFalse(Schema.is(SendRequest)({ email: "a@b.c", templateVariables: vars(31) }))
    assert.isFalse(Schema.is(PreviewRequest)({ templateVariables: vars(31) }))
  })

  it("SMS length in GSM-7 and UCS-2 segments", () => {
    assert.deepStrictEqual(smsLength("a".repeat(160)), { encoding: "GSM-7", units: 160, segments: 1 })
    assert.deepStrictEqual(smsLength("a".repeat(161)), { encoding: "GSM-7", units: 161, segments: 2 })
    assert.deepStrictEqual(smsLength("é".repeat(160)), { encoding: "GSM-7", units: 160, segments: 1 }) // in the basic set
    assert.deepStrictEqual(smsLength("€".repeat(80)), { encoding: "GSM-7", units: 160, segments: 1 }) // escape + char
    assert.deepStrictEqual(smsLength("€".repeat(81)), { encoding: "GSM-7", units: 162, segments: 2 })
    assert.deepStrictEqual(smsLength("ł".repeat(70)), { encoding: "UCS-2", units: 70, segments: 1 })
    assert.deepStrictEqual(smsLength("ł".repeat(71)), { encoding: "UCS-2", units: 71, segments: 2 })
    assert.deepStrictEqual(smsLength("😀".repeat(35)), { encoding: "UCS-2", units: 70, segments: 1 }) // surrogate pairs
    assert.deepStrictEqual(smsLength("a".repeat(306)).segments, 2)
    assert.deepStrictEqual(smsLength("a".repeat(307)).segments, 3)
  })

  it("SMS templates: {{code}} required, broken templates refused at save, control characters dropped", () => {
    assert.strictEqual(smsTemplateProblem("Your code is {{code}}"), undefined)
    assert.strictEqual(smsTemplateProblem("Your code"), "must contain {{code}}")
    assert.match(smsTemplateProblem("{{#x}} {{code}}") ?? "", /does not parse/)
    assert.strictEqual(renderSms("{{appName}}: {{code}}", { appName: "A\u0007cme<b>", code: "123456" }), "Acme<b>: 123456")
    assert.strictEqual(templateProblem({ emailContent: { bodyText: "{{#open}}" } })?.field, "emailContent.bodyText")
    assert.strictEqual(templateProblem({ smsMessage: "no code" })?.field, "smsMessage")
    assert.isUndefined(templateProblem({ emailContent: { bodyText: "Hi {{name}}" }, smsMessage: "{{code}}" }))
  })

  it("the page's brand colour is darkened until white text on it meets WCAG AA", () => {
    for (const colour of ["#FFFF00", "#6981FF", "#0E7C66", "#FFFFFF", "not-a-colour"]) {
      assert.isAtLeast(contrastRatio(accessibleAccent(colour), "#ffffff"), 4.5, colour)
    }
    assert.strictEqual(accessibleAccent("#0E7C66"), "#0e7c66")
  })
})
