import { describe, expect, it } from "vitest"
import fc from "fast-check"
import {
  DEFAULT_PRIMARY_COLOR,
  type EmailInput,
  IGNORE_NOTICE,
  isValidTemplateText,
  MAX_HEADER_LENGTH,
  renderEmail
} from "../../src/delivery/EmailTemplate.ts"
import { builtInTexts } from "../../src/templates/EmailTexts.ts"
import { BUILT_IN_LOCALES, type BuiltInLocale } from "../../src/templates/Locale.ts"

const LINK = "https://auth.example.com/l/tok_abc"

const base = (overrides: Partial<EmailInput> = {}): EmailInput => ({
  type: "OTP",
  template: "SIGNIN",
  appName: "Acme",
  code: "012345",
  link: LINK,
  expiresInMinutes: 5,
  ...overrides
})

const hrefs = (html: string): ReadonlyArray<string> => Array.from(html.matchAll(/href="([^"]*)"/gu), (m) => m[1] ?? "")

const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/u

describe("renderEmail: content per type", () => {
  it("OTP: code in both parts, no link", () => {
    const email = renderEmail(base({ type: "OTP" }))
    expect(email.html).toContain(">012345</div>")
    expect(email.text).toContain("Your code: 012345")
    expect(email.html).not.toContain(LINK)
    expect(email.text).not.toContain(LINK)
    expect(hrefs(email.html)).toEqual([])
  })

  it("LINK: link as button and as plain text in HTML, and in the text part; no code", () => {
    const email = renderEmail(base({ type: "LINK" }))
    expect(hrefs(email.html)).toEqual([LINK, LINK])
    expect(email.html).toContain(`>${LINK}</a>`)
    expect(email.text).toContain(LINK)
    expect(email.html).not.toContain("012345")
    expect(email.text).not.toContain("012345")
  })

  it("LINK_OTP: both code and link in both parts", () => {
    const email = renderEmail(base({ type: "LINK_OTP" }))
    expect(email.html).toContain(">012345</div>")
    expect(hrefs(email.html)).toEqual([LINK, LINK])
    expect(email.text).toContain("Your code: 012345")
    expect(email.text).toContain(LINK)
  })

  it("keeps the leading zeros of a code", () => {
    const email = renderEmail(base({ code: "000042" }))
    expect(email.html).toContain(">000042</div>")
    expect(email.text).toContain("000042")
  })

  it("shows the code large, monospaced and letter-spaced", () => {
    const html = renderEmail(base()).html
    const codeBlock = /<div style="([^"]*)">012345<\/div>/u.exec(html)?.[1] ?? ""
    expect(codeBlock).toContain("monospace")
    expect(codeBlock).toContain("font-size:32px")
    expect(codeBlock).toContain("letter-spacing:8px")
  })

  it("always carries the ignore notice", () => {
    for (const type of ["OTP", "LINK", "LINK_OTP"] as const) {
      const email = renderEmail(base({ type, content: { footerText: "Acme Inc., 1 Main St" } }))
      expect(email.html).toContain("If you didn&#39;t request this, you can ignore this email.")
      expect(email.text).toContain(IGNORE_NOTICE)
      expect(email.text).toContain("Acme Inc., 1 Main St")
    }
  })

  it("mentions the lifetime in the default body", () => {
    expect(renderEmail(base({ expiresInMinutes: 10 })).text).toContain("10 minutes")
    expect(renderEmail(base({ expiresInMinutes: 1 })).text).toContain("1 minute.")
  })

  it("refuses to put a non-http(s) link in an href", () => {
    for (const link of ["javascript:alert(1)", "data:text/html,x", "/relative", "https://u:p@auth.example.com/l"]) {
      const email = renderEmail(base({ type: "LINK", link }))
      expect(hrefs(email.html)).toEqual([])
      expect(email.html).not.toContain("javascript")
      expect(email.text).not.toContain("javascript")
    }
  })
})

describe("renderEmail: subject and sender", () => {
  it("uses the default subjects", () => {
    expect(renderEmail(base({ type: "OTP" })).subject).toBe("Your Acme sign-in code")
    expect(renderEmail(base({ type: "LINK" })).subject).toBe("Sign in to Acme")
    expect(renderEmail(base({ type: "LINK_OTP" })).subject).toBe("Sign in to Acme")
    for (const type of ["OTP", "LINK", "LINK_OTP"] as const) {
      expect(renderEmail(base({ type, template: "SIGNUP" })).subject).toBe("Confirm your email for Acme")
    }
  })

  it("defaults the sender name to the app name", () => {
    expect(renderEmail(base()).senderName).toBe("Acme")
    expect(renderEmail(base({ content: { senderName: "Acme Security" } })).senderName).toBe("Acme Security")
  })

  it("interpolates custom subjects", () => {
    const email = renderEmail(
      base({ templateVariables: { teamName: "Alpha" }, content: { subject: "{{teamName}} @ {{appName}}: {{expiresInMinutes}} min" } })
    )
    expect(email.subject).toBe("Alpha @ Acme: 5 min")
  })

  it("never puts the code in the subject, even when asked to", () => {
    const email = renderEmail(base({ content: { subject: "Code {{code}} for {{appName}}" } }))
    expect(email.subject).not.toContain("012345")
    expect(email.subject).toBe("Code for Acme")
    expect(renderEmail(base()).subject).not.toContain("012345")
  })

  it("strips CR/LF and other control characters from subject and sender name", () => {
    const email = renderEmail(
      base({
        content: {
          subject: "Hello\r\nBcc: victim@example.com\u0000\u2028x",
          senderName: "Acme\r\nReply-To: evil@example.com\t\u0085"
        }
      })
    )
    expect(email.subject).toBe("Hello Bcc: victim@example.com x")
    expect(email.senderName).toBe("Acme Reply-To: evil@example.com")
    expect(email.subject).not.toMatch(CONTROL)
    expect(email.senderName).not.toMatch(CONTROL)
  })

  it("strips control characters arriving through template variables and the app name", () => {
    const email = renderEmail(
      base({ appName: "Ac\nme", templateVariables: { x: "a\r\nTo: b" }, content: { subject: "{{x}} {{appName}}" } })
    )
    expect(email.subject).toBe("a To: b Ac me")
    expect(email.senderName).toBe("Ac me")
  })

  it("caps subject and sender name at 200 characters", () => {
    const email = renderEmail(base({ content: { subject: "s".repeat(500), senderName: "n".repeat(500) } }))
    expect(email.subject).toHaveLength(MAX_HEADER_LENGTH)
    expect(email.senderName).toHaveLength(MAX_HEADER_LENGTH)
  })

  it("does not split a surrogate pair when truncating", () => {
    const email = renderEmail(base({ content: { subject: `${"a".repeat(199)}😀😀` } }))
    expect(Array.from(email.subject)).toHaveLength(MAX_HEADER_LENGTH)
    expect(email.subject.endsWith("😀")).toBe(true)
  })

  it("falls back to defaults when custom values are blank after sanitising", () => {
    const email = renderEmail(base({ content: { subject: "\r\n\t", senderName: " \n " } }))
    expect(email.subject).toBe("Your Acme sign-in code")
    expect(email.senderName).toBe("Acme")
  })

  it("never yields a header with control characters, whatever the input", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), fc.string({ unit: "binary" }), fc.string({ unit: "binary" }), (subject, senderName, appName) => {
        const email = renderEmail(base({ appName, content: { subject, senderName } }))
        expect(email.subject).not.toMatch(CONTROL)
        expect(email.senderName).not.toMatch(CONTROL)
        expect(Array.from(email.subject).length).toBeLessThanOrEqual(MAX_HEADER_LENGTH)
        expect(Array.from(email.senderName).length).toBeLessThanOrEqual(MAX_HEADER_LENGTH)
        expect(email.senderName.length).toBeGreaterThan(0)
      })
    )
  })
})

describe("renderEmail: escaping", () => {
  const XSS = `<script>alert("x")</script>`

  it("escapes markup in bodyText", () => {
    const email = renderEmail(base({ content: { bodyText: `Hello ${XSS}` } }))
    expect(email.html).not.toContain("<script>")
    expect(email.html).toContain("Hello &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;")
    expect(email.text).toContain(`Hello ${XSS}`)
  })

  it("escapes markup in every user-supplied text", () => {
    const email = renderEmail(
      base({
        type: "LINK_OTP",
        appName: `Acme ${XSS}`,
        content: { headerText: XSS, bodyText: XSS, linkText: XSS, footerText: XSS, subject: XSS, senderName: XSS }
      })
    )
    expect(email.html).not.toContain("<script")
    expect(email.html).toContain("&lt;script&gt;")
  })

  it("escapes markup in template variables", () => {
    const email = renderEmail(base({ templateVariables: { teamName: XSS }, content: { bodyText: "Team {{teamName}}" } }))
    expect(email.html).not.toContain("<script>")
    expect(email.html).toContain("Team &lt;script&gt;")
  })

  it("escapes template variables even when user text uses triple-stache or {{&}}", () => {
    const email = renderEmail(
      base({ templateVariables: { teamName: XSS }, content: { bodyText: "A {{{teamName}}} B {{& teamName}}", headerText: "{{{teamName}}}" } })
    )
    expect(email.html).not.toContain("<script>")
    expect(email.html).toContain("A &lt;script&gt;")
  })

  it("escapes markup in the approval summary", () => {
    const email = renderEmail(base({ approval: { transactionId: "tx_1", summary: `Pay ${XSS}` } }))
    expect(email.html).not.toContain("<script>")
    expect(email.html).toContain("You are approving:</strong> Pay &lt;script&gt;")
  })

  it("escapes quotes so an attribute cannot be broken out of", () => {
    const email = renderEmail(base({ type: "LINK", appName: `x" onerror="alert(1)`, content: { logoUrl: "https://cdn.example.com/l.png" } }))
    expect(email.html).toContain(`alt="x&quot; onerror=&quot;alert(1)"`)
    expect(email.html).not.toContain(`" onerror="`)
  })

  it("escapes & in the link href", () => {
    const link = "https://app.example.com/cb?link_token=abc&state=x%20y&x=<y>"
    const email = renderEmail(base({ type: "LINK", link }))
    const normalised = new URL(link).href
    const escaped = normalised.replaceAll("&", "&amp;")
    expect(hrefs(email.html)).toEqual([escaped, escaped])
    expect(email.html).not.toMatch(/href="[^"]*&(?!amp;)/u)
    expect(email.text).toContain(normalised)
  })

  it("does not interpolate template syntax contained in values", () => {
    const email = renderEmail(
      base({ appName: "{{code}}", templateVariables: { a: "{{code}}" }, content: { bodyText: "{{a}} / {{appName}}" } })
    )
    expect(email.text).toContain("{{code}} / {{code}}")
  })
})

describe("renderEmail: template variables", () => {
  it("interpolates variables and built-ins into user texts", () => {
    const email = renderEmail(
      base({
        type: "LINK_OTP",
        templateVariables: { teamName: "Alpha", inviter: "Bob" },
        content: {
          headerText: "Join {{teamName}}",
          bodyText: "{{inviter}} invited you to {{teamName}} on {{appName}}. Code {{code}}, valid {{expiresInMinutes}} minutes.",
          linkText: "Open {{teamName}}",
          footerText: "Sent by {{appName}} for {{teamName}}"
        }
      })
    )
    for (const part of [email.html, email.text]) {
      expect(part).toContain("Join Alpha")
      expect(part).toContain("Bob invited you to Alpha on Acme. Code 012345, valid 5 minutes.")
      expect(part).toContain("Open Alpha")
      expect(part).toContain("Sent by Acme for Alpha")
    }
  })

  it("lets built-ins win over same-named template variables", () => {
    const email = renderEmail(
      base({ templateVariables: { code: "999999", appName: "Evil" }, content: { bodyText: "{{appName}} {{code}}" } })
    )
    expect(email.text).toContain("Acme 012345")
    expect(email.text).not.toContain("999999")
    expect(email.text).not.toContain("Evil")
  })

  it("renders unknown and prototype names as empty", () => {
    const email = renderEmail(base({ content: { bodyText: "[{{missing}}][{{constructor}}][{{toString}}][{{__proto__}}]" } }))
    expect(email.text).toContain("[][][][]")
  })

  it("renders a malformed template literally instead of failing", () => {
    const email = renderEmail(base({ content: { bodyText: "Hello {{name", subject: "{{#open}} x" } }))
    expect(email.text).toContain("Hello {{name")
    expect(email.subject).toBe("{{#open}} x")
    expect(isValidTemplateText("Hello {{name")).toBe(false)
    expect(isValidTemplateText("Hello {{name}}")).toBe(true)
  })

  it("keeps paragraphs and line breaks of the body, escaped", () => {
    const email = renderEmail(base({ content: { bodyText: "Line one\r\nLine <two>\n\nSecond paragraph" } }))
    expect(email.html).toContain("Line one<br>Line &lt;two&gt;</td>")
    expect(email.html).toContain(">Second paragraph</td>")
    expect(email.text).toContain("Line one\nLine <two>\n\nSecond paragraph")
  })
})

describe("renderEmail: approval", () => {
  it("shows the approval summary prominently in both parts", () => {
    const email = renderEmail(base({ approval: { transactionId: "tx_1", summary: "Pay 200.00 EUR to ACME" } }))
    expect(email.html).toContain("You are approving:</strong> Pay 200.00 EUR to ACME")
    expect(email.text).toContain("You are approving: Pay 200.00 EUR to ACME")
    expect(email.html.indexOf("You are approving")).toBeLessThan(email.html.indexOf(">012345<"))
    expect(email.subject).not.toContain("012345")
  })

  it("keeps the summary on one line and strips bidi overrides", () => {
    const email = renderEmail(base({ approval: { transactionId: "tx_1", summary: "Pay 1 EUR\n\nto \u202eEMCA\u202c" } }))
    expect(email.text).toContain("You are approving: Pay 1 EUR to EMCA\n")
    expect(email.html).not.toMatch(/[\u202a-\u202e\u2066-\u2069]/u)
  })

  it("omits the approval block without an approval", () => {
    const email = renderEmail(base())
    expect(email.html).not.toContain("You are approving")
    expect(email.text).not.toContain("You are approving")
  })
})

describe("renderEmail: branding", () => {
  it("uses a valid primary colour", () => {
    const email = renderEmail(base({ type: "LINK", content: { primaryColor: "#6981FF" } }))
    expect(email.html).toContain("background-color:#6981FF")
    expect(email.html).not.toContain(DEFAULT_PRIMARY_COLOR)
  })

  it.each(["red", "#fff", "#12345G", "#1234567", "#123456;background:url(https://evil.io)", "rgb(1,2,3)", "#123456\n"])(
    "ignores invalid colour %j",
    (primaryColor) => {
      const email = renderEmail(base({ type: "LINK", content: { primaryColor } }))
      expect(email.html).toContain(`background-color:${DEFAULT_PRIMARY_COLOR}`)
      expect(email.html).not.toContain("evil.io")
      expect(email.html).not.toContain("rgb(")
    }
  )

  it("shows an https logo", () => {
    const email = renderEmail(base({ content: { logoUrl: "https://cdn.example.com/logo.png?v=1&s=2" } }))
    expect(email.html).toContain(`<img src="https://cdn.example.com/logo.png?v=1&amp;s=2" alt="Acme"`)
  })

  it.each([
    "http://cdn.example.com/logo.png",
    "javascript:alert(1)",
    "data:image/png;base64,AAAA",
    "//cdn.example.com/logo.png",
    "logo.png",
    "https://user:pw@cdn.example.com/logo.png",
    "https://cdn.example.com/lo\ngo.png"
  ])("ignores invalid logo %j", (logoUrl) => {
    const email = renderEmail(base({ content: { logoUrl } }))
    expect(email.html).not.toContain("<img")
  })
})

describe("renderEmail: infoText (Transmit's info text)", () => {
  it("appears under the code in both parts, escaped and with variables", () => {
    const email = renderEmail(base({ content: { infoText: "Requested for {{appName}} <b>now</b>" }, templateVariables: {} }))
    expect(email.text).toContain("Requested for Acme <b>now</b>")
    expect(email.html).toContain("Requested for Acme &lt;b&gt;now&lt;/b&gt;")
    expect(email.text.indexOf("Requested for")).toBeGreaterThan(email.text.indexOf("012345"))
  })
  it("is absent unless given", () => {
    expect(renderEmail(base()).html).not.toContain("padding:16px 32px 0 32px;font-size:14px")
  })
})

describe("renderEmail: every string a user reads follows the locale", () => {
  const decode = (html: string) =>
    html.replace(/<[^>]*>/gu, " ").replace(/&#(\d+);/gu, (_, n: string) => String.fromCodePoint(Number(n)))
      .replace(/&#x([0-9a-f]+);/giu, (_, n: string) => String.fromCodePoint(Number.parseInt(n, 16)))
      .replace(/&quot;/gu, "\"").replace(/&lt;/gu, "<").replace(/&gt;/gu, ">").replace(/&amp;/gu, "&")
  /** A locale's fixed words: its texts cut at the placeholders, pieces of 5+ characters. */
  const fragments = (locale: BuiltInLocale): ReadonlySet<string> => {
    const texts: ReadonlyArray<string> = Object.values(builtInTexts[locale])
    return new Set(texts.flatMap((text) =>
      text.split(/\{\{?\w+\}?\}/u).map((piece) => piece.trim()).filter((piece) => piece.length >= 5)))
  }
  const variants = (["OTP", "LINK", "LINK_OTP"] as const).flatMap((type) =>
    (["SIGNIN", "SIGNUP"] as const).map((template) => ({ type, template })))

  for (const locale of BUILT_IN_LOCALES) {
    it(`${locale}: no word of another locale in the subject, the HTML or the text part`, () => {
      const own = fragments(locale)
      const foreign = BUILT_IN_LOCALES.filter((l) => l !== locale)
        .flatMap((l) => [...fragments(l)].filter((f) => ![...own].some((o) => o.includes(f))).map((f) => [l, f] as const))
      expect(foreign.length).toBeGreaterThan(20)
      for (const variant of variants) {
        const email = renderEmail(base({ ...variant, locale, approval: { summary: "Pay 1 EUR", transactionId: "tx_1" } }))
        const read = [email.subject, decode(email.html), email.text].join("\n")
        for (const [other, fragment] of foreign) {
          expect(read, `${locale} ${variant.type} ${variant.template}: "${fragment}" (${other})`).not.toContain(fragment)
        }
        // and its own fixed words are there
        const t = builtInTexts[locale]
        expect(email.text).toContain(t.ignoreNotice)
        expect(email.text).toContain(`${t.approving} Pay 1 EUR`)
        if (variant.type !== "LINK") expect(email.text).toContain(`${t.yourCode} 012345`)
        if (variant.type !== "OTP") expect(decode(email.html)).toContain(t.copyLink)
        expect(email.html).toContain(`<html lang="${locale}">`)
      }
    })
  }
})
