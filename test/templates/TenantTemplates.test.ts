import { assert, describe, it } from "@effect/vitest"
import type { TenantTemplate } from "../../src/domain/TenantSettings.ts"
import { pickTenantTemplate, renderTenantTemplate, tenantTemplateProblem } from "../../src/templates/TenantTemplates.ts"

const base: TenantTemplate = {
  template: "SIGNIN", locale: "fr", subject: "Connexion à {{appName}} {{code}}",
  html: "<p>Bonjour {{email}}, code <b>{{code}}</b> — {{teamName}}</p>", text: "Code : {{code}} ({{expiresInMinutes}} min)",
  sms: "{{code}} est votre code {{appName}}"
}

describe("stored tenant templates", () => {
  it("pick: exact locale, then the primary language, else none (built-in texts)", () => {
    const templates: Array<TenantTemplate> = [base, { ...base, locale: "fr-CA", subject: "CA" }, { ...base, template: "SIGNUP", locale: "en" }]
    assert.strictEqual(pickTenantTemplate(templates, "SIGNIN", "fr-CA")?.subject, "CA")
    assert.strictEqual(pickTenantTemplate(templates, "SIGNIN", "fr-BE")?.locale, "fr")
    assert.strictEqual(pickTenantTemplate(templates, "SIGNIN", "FR")?.locale, "fr")
    assert.isUndefined(pickTenantTemplate(templates, "SIGNIN", "de"))
    assert.isUndefined(pickTenantTemplate(templates, "SIGNIN", null))
    assert.strictEqual(pickTenantTemplate(templates, "SIGNUP", null)?.locale, "en")
  })

  it("render: HTML-escapes values in html, never puts the code in the subject, strips CR/LF from the subject", () => {
    const out = renderTenantTemplate({ ...base, subject: "Hi {{teamName}}\r\nBcc: x@evil.io {{code}}" }, {
      appName: "Acme", code: "123456", expiresInMinutes: 5, email: "<script>@x.io",
      templateVariables: { teamName: "<b>Team</b>", code: "forged" }
    })
    assert.include(out.html ?? "", "&lt;script&gt;@x.io")
    assert.include(out.html ?? "", "&lt;b&gt;Team&lt;&#x2F;b&gt;")
    assert.include(out.html ?? "", "<b>123456</b>")
    assert.strictEqual(out.text, "Code : 123456 (5 min)")
    assert.notInclude(out.subject ?? "", "123456")
    assert.notMatch(out.subject ?? "", /[\r\n]/)
    assert.strictEqual(out.sms, "123456 est votre code Acme")
  })

  it("refused when saved: unparsable, unescaped {{{…}}}, no credential, html without text, duplicate locale, long or code-less SMS", () => {
    assert.isUndefined(tenantTemplateProblem([base]))
    const cases: ReadonlyArray<readonly [TenantTemplate, string]> = [
      [{ ...base, html: "<p>{{#code}}" }, "settings.templates.0.html"],
      [{ ...base, html: "<p>{{{code}}}</p>" }, "settings.templates.0.html"],
      [{ ...base, html: "<p>{{#x}}{{& code}}{{/x}}</p>" }, "settings.templates.0.html"],
      [{ ...base, text: "no credential here" }, "settings.templates.0.text"],
      [{ template: "SIGNIN", locale: "fr", html: "<p>{{code}}</p>" }, "settings.templates.0.text"],
      [{ ...base, subject: "a\nb" }, "settings.templates.0.subject"],
      [{ ...base, sms: "no code" }, "settings.templates.0.sms"],
      [{ ...base, sms: "{{code}} " + "ł".repeat(300) }, "settings.templates.0.sms"]
    ]
    for (const [t, field] of cases) assert.strictEqual(tenantTemplateProblem([t])?.[0], field, JSON.stringify(t))
    assert.strictEqual(tenantTemplateProblem([base, { ...base, locale: "FR" }])?.[0], "settings.templates.1.locale")
  })
})
