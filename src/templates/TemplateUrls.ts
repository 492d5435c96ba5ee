/**
 * URL attributes of a stored HTML template must not be able to render a `javascript:` (or `data:`,
 * `vbscript:`…) URL (OWASP XSS Prevention cheat sheet, rule 5: only allowlisted URL schemes in
 * attributes). Checked when the template is saved. An allowlist, not a blocklist: a value must begin
 * with a literal `https://`, `http://`, `mailto:` or `tel:`, or with `{{link}}` (Sesame's own http(s)
 * link). A value that begins with any other variable could become `javascript:…` at send time (a
 * `templateVariables` value, the app name), and a value spelled with entities or control characters
 * (`&#106;avascript:`, `java\tscript:`) is refused because it does not begin with an allowed prefix.
 */
const URL_ATTRIBUTES = [
  "href", "src", "action", "formaction", "background", "poster", "cite", "data", "xlink:href", "lowsrc",
  "dynsrc", "longdesc", "usemap", "ping", "codebase", "manifest", "icon", "profile", "archive", "classid", "srcset"
]
const ATTRIBUTE = new RegExp(
  `(?:^|[\\s"'/])(${URL_ATTRIBUTES.join("|")})\\s*=\\s*("[^"]*"|'[^']*'|[^\\s>]+)`,
  "giu"
)
const ALLOWED_START = /^(?:https?:\/\/|mailto:|tel:|\{\{\s*link\s*\}\})/iu
/** A same-document fragment (`#top`) or nothing: no scheme can hide in it. */
const FRAGMENT = /^(?:#[^:&{]*)?$/u

const allowedUrl = (value: string) => {
  const v = value.trim()
  return ALLOWED_START.test(v) || FRAGMENT.test(v)
}

/** The first URL attribute that could render a dangerous URL, with why; undefined when all are safe. */
export const unsafeUrlAttribute = (html: string): string | undefined => {
  for (const match of html.matchAll(ATTRIBUTE)) {
    const name = (match[1] ?? "").toLowerCase()
    const raw = match[2] ?? ""
    const value = raw.startsWith("\"") || raw.startsWith("'") ? raw.slice(1, -1) : raw
    // srcset: a comma-separated list of "URL descriptor" candidates
    const urls = name === "srcset" ? value.split(",").map((c) => c.trim().split(/\s+/u)[0] ?? "") : [value]
    if (!urls.every(allowedUrl)) {
      return `the ${name} attribute must start with https://, http://, mailto:, tel: or {{link}} (found ${JSON.stringify(value.slice(0, 40))})`
    }
  }
  return undefined
}
