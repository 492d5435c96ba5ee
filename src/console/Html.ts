/**
 * Server-rendered HTML for the console: a tagged template that escapes every interpolated value unless
 * it is already `Html` (the result of `html` or `raw`). Arrays are joined, `null`/`undefined`/`false`
 * render nothing.
 */
export class Html {
  readonly value: string
  constructor(value: string) {
    this.value = value
  }
  toString(): string {
    return this.value
  }
}

export type Part = Html | string | number | boolean | null | undefined | ReadonlyArray<Part>

export const escapeHtml = (value: string): string => value.replace(/[&<>"'`]/gu, (ch) => `&#${ch.charCodeAt(0)};`)

const render = (part: Part): string => {
  if (part === null || part === undefined || part === false) return ""
  if (part instanceof Html) return part.value
  if (Array.isArray(part)) return part.map(render).join("")
  return escapeHtml(String(part))
}

export const html = (strings: TemplateStringsArray, ...parts: ReadonlyArray<Part>): Html => {
  let out = strings[0] ?? ""
  for (let i = 0; i < parts.length; i++) out += render(parts[i]) + (strings[i + 1] ?? "")
  return new Html(out)
}

/** Trusted markup (already escaped, or a constant). */
export const raw = (value: string): Html => new Html(value)

/** `2026-12-05 01:23 UTC`: times in the console are UTC, to the minute (a `<time>` carries the full instant). */
export const when = (date: Date | string | null | undefined): Html => {
  if (date === null || date === undefined) return html`<span class="muted">—</span>`
  const d = typeof date === "string" ? new Date(date) : date
  if (Number.isNaN(d.getTime())) return html`<span class="muted">—</span>`
  const iso = d.toISOString()
  return html`<time datetime="${iso}">${iso.slice(0, 16).replace("T", " ")} UTC</time>`
}

/** A query string from the given values (undefined and "" left out), with a leading `?` when non-empty. */
export const query = (params: Readonly<Record<string, string | number | undefined | null>>): string => {
  const search = new URLSearchParams()
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") search.set(name, String(value))
  }
  const text = search.toString()
  return text === "" ? "" : `?${text}`
}
