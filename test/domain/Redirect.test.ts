import { describe, expect, it } from "vitest"
import fc from "fast-check"
import { appendQuery, isRedirectAllowed, validateAllowlistEntry } from "../../src/domain/Redirect.ts"

const allowlist = [
  "https://app.example.com/cb",
  "https://app.example.com/app/*",
  "https://root.example.com/*",
  "https://ports.example.com:8443/cb",
  "http://localhost/callback",
  "http://127.0.0.1:5000/loop/*",
  "http://[::1]/v6"
]

const allowed: ReadonlyArray<readonly [string, string]> = [
  ["exact match", "https://app.example.com/cb"],
  ["query ignored", "https://app.example.com/cb?state=xyz&foo=bar"],
  ["fragment ignored", "https://app.example.com/cb#section"],
  ["host case-insensitive", "https://APP.Example.COM/cb"],
  ["scheme case-insensitive", "HTTPS://app.example.com/cb"],
  ["explicit default port equals no port", "https://app.example.com:443/cb"],
  ["wildcard: base itself", "https://app.example.com/app"],
  ["wildcard: base with slash", "https://app.example.com/app/"],
  ["wildcard: nested path", "https://app.example.com/app/x/y"],
  ["wildcard: with query", "https://app.example.com/app/x?next=/admin"],
  ["root wildcard", "https://root.example.com/anything/at/all"],
  ["root wildcard: bare origin", "https://root.example.com"],
  ["non-default port matched exactly", "https://ports.example.com:8443/cb"],
  ["loopback localhost, any port", "http://localhost:49152/callback"],
  ["loopback localhost, no port", "http://localhost/callback"],
  ["loopback 127.0.0.1, other port than entry", "http://127.0.0.1:61234/loop/cb"],
  ["loopback ::1, any port", "http://[::1]:8080/v6"],
  ["encoded characters other than / . \\ are fine", "https://app.example.com/app/caf%C3%A9"]
]

const refused: ReadonlyArray<readonly [string, string]> = [
  ["userinfo host confusion", "https://app.example.com@evil.io/cb"],
  ["userinfo on the right host", "https://user:pw@app.example.com/cb"],
  ["empty userinfo", "https://@app.example.com/cb"],
  ["username only", "https://user@app.example.com/cb"],
  ["backslash host confusion", "https://evil.io\\@app.example.com/cb"],
  ["backslash in path", "https://app.example.com/app\\..\\admin"],
  ["backslash in query", "https://app.example.com/cb?x=\\"],
  ["leading backslashes", "\\\\evil.io/cb"],
  ["tab inside", "https://app.exa\tmple.com/cb"],
  ["newline inside", "https://app.example.com/c\nb"],
  ["CR inside", "https://app.example.com/cb\r"],
  ["leading space", " https://app.example.com/cb"],
  ["trailing space", "https://app.example.com/cb "],
  ["NUL", "https://app.example.com/cb\u0000"],
  ["DEL", "https://app.example.com/cb\u007f"],
  ["C1 control", "https://app.example.com/cb\u0085"],
  ["no-break space", "https://app.example.com/cb\u00a0"],
  ["protocol-relative", "//evil.io/cb"],
  ["protocol-relative to allowed host", "//app.example.com/cb"],
  ["relative path", "/cb"],
  ["scheme without slashes", "https:evil.io"],
  ["scheme without slashes to allowed host", "https:app.example.com/cb"],
  ["scheme with one slash", "https:/app.example.com/cb"],
  ["scheme with three slashes", "https:///app.example.com/cb"],
  ["javascript scheme", "javascript:alert(1)"],
  ["javascript scheme with comment", "javascript://app.example.com/cb%0aalert(1)"],
  ["data scheme", "data:text/html,<script>alert(1)</script>"],
  ["ftp scheme", "ftp://app.example.com/cb"],
  ["http instead of https", "http://app.example.com/cb"],
  ["suffix host", "https://app.example.com.evil.io/cb"],
  ["prefix host", "https://evilapp.example.com/cb"],
  ["subdomain of allowed host", "https://x.app.example.com/cb"],
  ["trailing-dot host", "https://app.example.com./cb"],
  ["encoded dot in host", "https://app.example.com%2eevil.io/cb"],
  ["path extension", "https://app.example.com/cbx"],
  ["path with trailing slash vs exact entry", "https://app.example.com/cb/"],
  ["path below exact entry", "https://app.example.com/cb/x"],
  ["path case differs", "https://app.example.com/CB"],
  ["wildcard not at segment boundary", "https://app.example.com/appx"],
  ["wildcard sibling", "https://app.example.com/application/x"],
  ["encoded dot-dot", "https://app.example.com/app/%2e%2e/admin"],
  ["encoded dot-dot, upper case", "https://app.example.com/app/%2E%2E/admin"],
  ["mixed dot-dot", "https://app.example.com/app/.%2e/admin"],
  ["encoded dot in segment", "https://app.example.com/app/a%2e/x"],
  ["encoded slash", "https://app.example.com/app%2f..%2fadmin"],
  ["encoded slash below wildcard", "https://app.example.com/app/x%2Fy"],
  ["encoded backslash", "https://app.example.com/app/%5c..%5cadmin"],
  ["literal dot-dot escaping wildcard", "https://app.example.com/app/../admin"],
  ["literal dot-dot staying inside wildcard", "https://app.example.com/app/x/../y"],
  ["literal dot segment", "https://app.example.com/app/./x"],
  ["other port on exact entry", "https://app.example.com:8443/cb"],
  ["default port on non-default entry", "https://ports.example.com/cb"],
  ["other non-default port", "https://ports.example.com:9443/cb"],
  ["loopback rule is http only", "https://localhost:1234/callback"],
  ["loopback path still exact", "http://localhost:1234/callbackx"],
  ["loopback wildcard boundary", "http://127.0.0.1:1234/loopx"],
  ["localhost entry does not cover 127.0.0.1", "http://127.0.0.1:1234/callback"],
  ["loopback lookalike host", "http://localhost.evil.io:1234/callback"],
  ["empty string", ""],
  ["garbage", "not a url"]
]

describe("isRedirectAllowed", () => {
  it.each(allowed)("allows: %s", (_name, url) => {
    expect(isRedirectAllowed(url, allowlist)).toBe(true)
  })

  it.each(refused)("refuses: %s", (_name, url) => {
    expect(isRedirectAllowed(url, allowlist)).toBe(false)
  })

  it("allows nothing with an empty allowlist", () => {
    expect(isRedirectAllowed("https://app.example.com/cb", [])).toBe(false)
  })

  it("ignores invalid entries instead of matching them loosely", () => {
    const bad = [
      "app.example.com/cb",
      "https://*.example.com/cb",
      "https://app.example.com/cb*",
      "http://app.example.com/cb",
      "https://u@app.example.com/cb",
      "https://app.example.com/cb?x=1"
    ]
    expect(isRedirectAllowed("https://app.example.com/cb", bad)).toBe(false)
    expect(isRedirectAllowed("https://x.example.com/cb", bad)).toBe(false)
    expect(isRedirectAllowed("https://app.example.com/cbxyz", bad)).toBe(false)
    expect(isRedirectAllowed("http://app.example.com/cb", bad)).toBe(false)
  })

  it("treats an entry with an explicit default port like one without", () => {
    expect(isRedirectAllowed("https://a.example.com/cb", ["https://a.example.com:443/cb"])).toBe(true)
  })

  it("matches a bare-origin entry only at the root path", () => {
    const list = ["https://a.example.com"]
    expect(isRedirectAllowed("https://a.example.com/", list)).toBe(true)
    expect(isRedirectAllowed("https://a.example.com", list)).toBe(true)
    expect(isRedirectAllowed("https://a.example.com/x", list)).toBe(false)
  })

  it("normalises IDN hosts on both sides", () => {
    const list = ["https://bücher.example/cb"]
    expect(isRedirectAllowed("https://xn--bcher-kva.example/cb", list)).toBe(true)
    expect(isRedirectAllowed("https://BÜCHER.example/cb", list)).toBe(true)
    expect(isRedirectAllowed("https://bucher.example/cb", list)).toBe(false)
  })
})

describe("validateAllowlistEntry", () => {
  it.each([
    "https://app.example.com/cb",
    "https://app.example.com",
    "https://app.example.com/app/*",
    "https://app.example.com/*",
    "https://app.example.com:8443/cb",
    "http://localhost/cb",
    "http://localhost:3000/cb",
    "http://127.0.0.1/cb",
    "http://[::1]/cb",
    "http://localhost/*"
  ])("accepts %s", (entry) => {
    expect(validateAllowlistEntry(entry)).toBe(true)
  })

  it.each([
    "",
    "app.example.com/cb",
    "/cb",
    "//app.example.com/cb",
    "https:app.example.com/cb",
    "http://app.example.com/cb",
    "http://10.0.0.1/cb",
    "ftp://app.example.com/cb",
    "javascript:alert(1)",
    "https://user@app.example.com/cb",
    "https://user:pw@app.example.com/cb",
    "https://@app.example.com/cb",
    "https://app.example.com/cb?x=1",
    "https://app.example.com/cb?",
    "https://app.example.com/cb#frag",
    "https://app.example.com/cb#",
    "https://*.example.com/cb",
    "https://app.example.com/cb*",
    "https://app.example.com/*/cb",
    "https://app.example.com/cb/**",
    "https://app.example.com\\cb",
    "https://app.example.com/c b",
    "https://app.example.com/cb\n",
    "https://app.example.com/a/%2e%2e/cb",
    "https://app.example.com/a/../cb",
    "https://app.example.com/a%2fb"
  ])("rejects %j", (entry) => {
    expect(validateAllowlistEntry(entry)).toBe(false)
  })
})

describe("isRedirectAllowed properties", () => {
  const hostOf = (url: string): string | undefined => URL.parse(url)?.hostname

  it("never allows a candidate whose host differs from every entry's host", () => {
    fc.assert(
      fc.property(
        fc.domain(),
        fc.domain(),
        fc.webPath(),
        fc.webPath(),
        fc.boolean(),
        fc.constantFrom("plain", "subdomain", "suffix", "userinfo", "path", "port"),
        (entryHost, otherHost, entryPath, candidatePath, wildcard, shape) => {
          const entry = wildcard ? `https://${entryHost}${entryPath.replace(/\/$/u, "")}/*` : `https://${entryHost}${entryPath}`
          const candidate = {
            plain: `https://${otherHost}${candidatePath}`,
            subdomain: `https://${otherHost}.${entryHost}${candidatePath}`,
            suffix: `https://${entryHost}.${otherHost}${candidatePath}`,
            userinfo: `https://${entryHost}@${otherHost}${candidatePath}`,
            path: `https://${otherHost}/${entryHost}${entryPath}`,
            port: `https://${otherHost}:443${entryPath}`
          }[shape]
          const candidateHost = hostOf(candidate)
          fc.pre(candidateHost !== undefined && candidateHost !== hostOf(entry))
          expect(isRedirectAllowed(candidate, [entry, `http://${entryHost}${entryPath}`])).toBe(false)
        }
      ),
      { numRuns: 500 }
    )
  })

  const segment = fc.stringMatching(/^[a-zA-Z0-9_~-]{1,12}$/u)

  it("allows any plain path below a wildcard entry, whatever the host's case", () => {
    fc.assert(
      fc.property(fc.domain(), segment, fc.array(segment, { maxLength: 5 }), fc.boolean(), (host, base, rest, upper) => {
        const entry = `https://${host}/${base}/*`
        const candidateHost = upper ? host.toUpperCase() : host
        const candidate = `https://${candidateHost}/${[base, ...rest].join("/")}`
        expect(isRedirectAllowed(candidate, [entry])).toBe(true)
        expect(isRedirectAllowed(`https://${candidateHost}/${base}x/${rest.join("/")}`, [entry])).toBe(false)
      }),
      { numRuns: 300 }
    )
  })
})

describe("appendQuery", () => {
  it("adds parameters to a URL without a query", () => {
    expect(appendQuery("https://app.example.com/cb", { code: "abc", state: "s 1" })).toBe(
      "https://app.example.com/cb?code=abc&state=s+1"
    )
  })

  it("keeps existing parameters byte for byte and the fragment", () => {
    expect(appendQuery("https://app.example.com/cb?flag&x=a%20b#frag", { code: "abc" })).toBe(
      "https://app.example.com/cb?flag&x=a%20b&code=abc#frag"
    )
  })

  it("replaces same-named parameters so the issued value cannot be shadowed", () => {
    const out = appendQuery("https://app.example.com/cb?code=evil&keep=1&state=old", { code: "good", state: "new" })
    const parsed = new URL(out)
    expect(parsed.searchParams.getAll("code")).toEqual(["good"])
    expect(parsed.searchParams.getAll("state")).toEqual(["new"])
    expect(parsed.searchParams.get("keep")).toBe("1")
  })

  it("encodes reserved characters in values", () => {
    const out = appendQuery("https://app.example.com/cb", { state: "a&b=c#d?e/f" })
    expect(out).toBe("https://app.example.com/cb?state=a%26b%3Dc%23d%3Fe%2Ff")
    expect(new URL(out).searchParams.get("state")).toBe("a&b=c#d?e/f")
  })

  it("leaves the URL alone when there is nothing to add", () => {
    expect(appendQuery("https://app.example.com/cb?x=1", {})).toBe("https://app.example.com/cb?x=1")
  })

  it("returns an unparseable input unchanged", () => {
    expect(appendQuery("not a url", { code: "x" })).toBe("not a url")
  })

  it("round-trips arbitrary values", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ minLength: 1 }), fc.string()), fc.string(), (params, existing) => {
        const base = appendQuery("https://app.example.com/cb", { existing })
        const out = new URL(appendQuery(base, params))
        for (const [key, value] of Object.entries(params)) expect(out.searchParams.getAll(key)).toEqual([value])
        if (!("existing" in params)) expect(out.searchParams.get("existing")).toBe(existing)
        expect(out.pathname).toBe("/cb")
      })
    )
  })
})
