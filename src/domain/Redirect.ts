/**
 * Redirect allowlist matching (API.md "Redirect allowlist"; RFC 9700 §2.1, §4.1.3; ASVS 3.7.2).
 *
 * Matching is structural: both sides are parsed with the WHATWG URL parser, the same parser the
 * browser uses to follow the redirect, and compared component by component. A raw string is
 * refused up front when the parser would silently "repair" it (backslashes, tabs/newlines,
 * missing slashes), because a repaired URL is exactly where allowlist bypasses live.
 */

const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(["localhost", "127.0.0.1", "[::1]"])

// WHATWG URL strips tab/CR/LF anywhere and leading/trailing C0+space, and treats "\" as "/" for
// special schemes; refusing them keeps what we validate identical to what we were given.
// C1 controls and DEL are refused too: no legitimate redirect carries them.
const FORBIDDEN_RAW = /[\u0000-\u0020\u007f-\u009f\\\s]/u

// Requires "scheme://" plus a non-empty authority: "https:evil.io" and "https:///evil.io" both
// parse to https://evil.io/ under WHATWG rules.
const ABSOLUTE_HTTP = /^https?:\/\/[^/?#]/iu

// Encoded "/", "." and "\" in a path are decoded differently by different servers and proxies,
// which lets "/cb/%2e%2e/admin" or "/cb%2f..%2fadmin" escape a "/cb/*" entry somewhere downstream.
const ENCODED_PATH_TRICK = /%(?:2f|2e|5c)/iu

interface RawParts {
  readonly authority: string
  readonly path: string
  readonly hasQuery: boolean
  readonly hasFragment: boolean
}

const splitRaw = (raw: string): RawParts => {
  const afterScheme = raw.slice(raw.indexOf("//") + 2)
  const authorityEnd = afterScheme.search(/[/?#]/u)
  const authority = authorityEnd === -1 ? afterScheme : afterScheme.slice(0, authorityEnd)
  const rest = authorityEnd === -1 ? "" : afterScheme.slice(authorityEnd)
  const pathEnd = rest.search(/[?#]/u)
  const path = pathEnd === -1 ? rest : rest.slice(0, pathEnd)
  return { authority, path, hasQuery: rest.includes("?"), hasFragment: rest.includes("#") }
}

const hasDotSegment = (path: string): boolean => path.split("/").some((segment) => segment === "." || segment === "..")

/** Parses an absolute http(s) URL, refusing anything the parser would have to repair. */
const parseStrict = (raw: string): { readonly url: URL; readonly parts: RawParts } | undefined => {
  if (FORBIDDEN_RAW.test(raw) || !ABSOLUTE_HTTP.test(raw)) return undefined
  const parts = splitRaw(raw)
  // Any "@" in the authority is userinfo, even an empty one ("https://@evil.io"), and the classic
  // "https://app.example.com@evil.io" confusion.
  if (parts.authority.includes("@")) return undefined
  if (ENCODED_PATH_TRICK.test(parts.path) || hasDotSegment(parts.path)) return undefined
  const url = URL.parse(raw)
  if (url === null) return undefined
  if (url.protocol !== "https:" && url.protocol !== "http:") return undefined
  if (url.username !== "" || url.password !== "" || url.hostname === "") return undefined
  if (ENCODED_PATH_TRICK.test(url.pathname)) return undefined
  return { url, parts }
}

interface AllowlistEntry {
  readonly protocol: string
  readonly hostname: string
  readonly port: string
  /** RFC 8252 §7.3: loopback redirect URIs must accept any port. */
  readonly anyPort: boolean
  /** For a wildcard entry, the base path ending in "/"; otherwise the exact path. */
  readonly path: string
  readonly wildcard: boolean
}

const parseEntry = (entry: string): AllowlistEntry | undefined => {
  const wildcard = entry.endsWith("/*")
  const base = wildcard ? entry.slice(0, -1) : entry
  // "*" is only meaningful as a trailing "/*"; WHATWG accepts "*" in hosts and paths literally,
  // which would make "https://*.a.com" look like a subdomain wildcard while matching nothing.
  if (base.includes("*")) return undefined
  const parsed = parseStrict(base)
  if (parsed === undefined) return undefined
  const { url, parts } = parsed
  if (parts.hasQuery || parts.hasFragment) return undefined
  const loopback = LOOPBACK_HOSTS.has(url.hostname)
  // Plain http only for loopback (RFC 8252 §7.3; RFC 9700 §4.1.3 forbids cleartext otherwise).
  if (url.protocol === "http:" && !loopback) return undefined
  return {
    protocol: url.protocol,
    hostname: url.hostname,
    port: url.port,
    anyPort: loopback && url.protocol === "http:",
    path: url.pathname,
    wildcard
  }
}

const pathMatches = (entry: AllowlistEntry, path: string): boolean => {
  if (!entry.wildcard) return path === entry.path
  // "/app/*" allows "/app" itself and anything under "/app/", but never "/appx": the prefix
  // always ends at a segment boundary because entry.path ends in "/".
  return path.startsWith(entry.path) || path === entry.path.slice(0, -1)
}

const entryMatches = (entry: AllowlistEntry, url: URL): boolean =>
  url.protocol === entry.protocol &&
  url.hostname === entry.hostname &&
  (entry.anyPort || url.port === entry.port) &&
  pathMatches(entry, url.pathname)

/** Whether a settings-supplied allowlist entry is acceptable (absolute http(s), no userinfo, query or fragment). */
export const validateAllowlistEntry = (entry: string): boolean => parseEntry(entry) !== undefined

/**
 * Whether `url` may be used as a redirect target. Entries that fail {@link validateAllowlistEntry}
 * never match anything.
 */
export const isRedirectAllowed = (url: string, allowlist: ReadonlyArray<string>): boolean => {
  const parsed = parseStrict(url)
  if (parsed === undefined) return false
  return allowlist.some((raw) => {
    const entry = parseEntry(raw)
    return entry !== undefined && entryMatches(entry, parsed.url)
  })
}

/**
 * Adds `params` to the query of `url`, keeping the other existing parameters and the fragment.
 * Expects a URL that already passed {@link isRedirectAllowed}; an unparseable one is returned unchanged.
 */
export const appendQuery = (url: string, params: Readonly<Record<string, string>>): string => {
  const parsed = URL.parse(url)
  if (parsed === null) return url
  const added = new URLSearchParams(params)
  const keys = new Set(added.keys())
  // A pre-existing "code" or "state" in the registered URL must not shadow the value we issue
  // (many frameworks read the first occurrence), so same-named pairs are dropped. The other pairs
  // are kept byte for byte rather than re-serialised through URLSearchParams.
  const kept = parsed.search
    .slice(1)
    .split("&")
    .filter((pair) => pair !== "" && !keys.has(new URLSearchParams(pair).keys().next().value ?? ""))
  const appended = added.toString()
  parsed.search = appended === "" ? kept.join("&") : [...kept, appended].join("&")
  return parsed.href
}
