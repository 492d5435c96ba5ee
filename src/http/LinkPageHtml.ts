import { createHash } from "node:crypto"
import type { LinkPage, PageContext } from "../passwordless/Exchange.ts"
import { accessibleAccent } from "../templates/Contrast.ts"
import { linkPageStrings } from "../templates/LinkPageStrings.ts"

const escapeHtml = (value: string): string =>
  value.replace(/[&<>"'`]/gu, (ch) => `&#${ch.charCodeAt(0)};`)

const fill = (template: string, values: Readonly<Record<string, string>>): string =>
  template.replace(/\{(\w+)\}/gu, (_, name: string) => values[name] ?? "")

/** "jane@example.com" → "j•••@example.com": enough to recognise, not enough to harvest. */
export const maskEmail = (email: string): string => {
  const at = email.lastIndexOf("@")
  if (at <= 0) return "•••"
  return `${Array.from(email.slice(0, at))[0] ?? ""}•••${email.slice(at)}`
}

const css = (accent: string): string => `
*{box-sizing:border-box}
body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;background:#f4f4f7;color:#111827;
font:16px/1.5 -apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;padding:16px}
main{background:#fff;max-width:440px;width:100%;border-radius:12px;padding:32px;box-shadow:0 1px 3px rgba(0,0,0,.12)}
img{display:block;height:48px;width:auto;margin:0 0 24px}
h1{font-size:22px;line-height:30px;margin:0 0 8px}
p{margin:0 0 16px;color:#374151}
.muted{font-size:14px;color:#4b5563;margin:16px 0 0}
button,.button{display:block;width:100%;padding:12px 16px;border:0;border-radius:8px;background:${accent};color:#fff;
font:inherit;font-weight:700;font-size:18px;text-align:center;text-decoration:none;cursor:pointer}
button:focus-visible,.button:focus-visible{outline:3px solid #111827;outline-offset:2px}
`

export interface RenderedPage {
  readonly status: number
  readonly html: string
  readonly headers: Readonly<Record<string, string>>
}

/** Besides its CSP, what every page Sesame renders sends (the hosted link page, the operator console). */
export const hostedPageHeaders: Readonly<Record<string, string>> = {
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
  "pragma": "no-cache",
  "x-frame-options": "DENY",
  "x-content-type-options": "nosniff",
  "cross-origin-opener-policy": "same-origin",
  "x-robots-tag": "noindex, nofollow"
}

/**
 * Headers of every hosted page: a CSP with no script at all and only the hashed inline style, framing
 * refused, no referrer (the URL holds the link token) and never stored by any cache.
 */
export const pageHeaders = (style: string, page: PageContext | null): Record<string, string> => {
  const styleHash = createHash("sha256").update(style, "utf8").digest("base64")
  const logoOrigin = page?.logoUrl === null || page?.logoUrl === undefined ? null : URL.parse(page.logoUrl)?.origin ?? null
  // Chromium applies form-action to the redirect that follows the POST, so the app's origin is listed.
  const formAction = ["'self'", ...(page?.redirectOrigin ? [page.redirectOrigin] : [])].join(" ")
  return {
    "content-security-policy": [
      "default-src 'none'", `style-src 'sha256-${styleHash}'`, `img-src ${logoOrigin ?? "'none'"}`,
      `form-action ${formAction}`, "frame-ancestors 'none'", "base-uri 'none'"
    ].join("; "),
    ...hostedPageHeaders
  }
}

export const renderLinkPage = (state: Exclude<LinkPage, { _tag: "Redirect" }>): RenderedPage => {
  const page = state._tag === "Unknown" ? null : state.page
  const { lang, strings: s } = linkPageStrings(page?.locale ?? null)
  const app = escapeHtml(page?.appName ?? "")
  const accent = accessibleAccent(page?.primaryColor)
  const logo = page?.logoUrl ? `<img src="${escapeHtml(page.logoUrl)}" alt="${app}">` : ""
  const back = page?.backUrl ? `<a class="button" href="${escapeHtml(page.backUrl)}">${fill(escapeHtml(s.back), { app })}</a>` : ""
  let status = 200
  let title: string
  let body: string
  switch (state._tag) {
    case "Ready": {
      title = fill(escapeHtml(s.heading), { app })
      const who = state.page.email === null ? "" : `<p>${fill(escapeHtml(s.as), { email: `<strong>${escapeHtml(maskEmail(state.page.email))}</strong>` })}</p>`
      body = `${who}
<form method="post">
<input type="hidden" name="csrf" value="${escapeHtml(state.csrf)}">
<input type="hidden" name="rt" value="${state.renderedAt}">
<button type="submit">${escapeHtml(s.button)}</button>
</form>
<p class="muted">${escapeHtml(s.note)}</p>`
      break
    }
    case "Used":
      status = 410
      title = escapeHtml(s.usedHeading)
      body = `<p>${fill(escapeHtml(s.usedBody), { app })}</p>${back}`
      break
    case "Expired":
      status = 410
      title = escapeHtml(s.expiredHeading)
      body = `<p>${fill(escapeHtml(s.expiredBody), { app })}</p>${back}`
      break
    case "Forbidden":
      status = 403
      title = escapeHtml(s.forbiddenHeading)
      body = `<p>${escapeHtml(s.forbiddenBody)}</p>`
      break
    case "Unknown":
      status = 404
      title = escapeHtml(s.unknownHeading)
      body = `<p>${escapeHtml(s.unknownBody)}</p>`
      break
  }
  const style = css(accent)
  const html = `<!DOCTYPE html>
<html lang="${lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>${title}</title>
<style>${style}</style>
</head>
<body>
<main>
${logo}<h1>${title}</h1>
${body}
</main>
</body>
</html>
`
  return { status, html, headers: pageHeaders(style, page) }
}
