/**
 * Transmit Security one-time login under /compat/transmit (seed 004, COMPAT.md §5) over real HTTP, on
 * PGlite and PostgreSQL: the seed's examples replayed, whole sign-ins (hosted link, email OTP, SMS OTP
 * bound to an email), the documented errors in Transmit's `{message, error_code}`, and the edge's
 * answers under the prefix. Raw HTTP throughout: the wire format is the point.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import gl from "google-libphonenumber"
import { createLocalJWKSet, jwtVerify } from "jose"
import { classifyPhone } from "../../src/domain/Phone.ts"
import { hasPostgres, pgliteLayer, postgresLayer } from "../support/Db.ts"
import { baseUrl, clientFor, serverLayer, tenantFixture } from "../support/Server.ts"
import { jsonOf, wire, type WireResponse } from "../support/Wire.ts"
import {
  linkAuthenticateReplay, linkSendReplay, otpAuthenticateReplay, otpSendReplay, seedLinkAuthenticate, seedLinkSend, seedOtpAuthenticate,
  seedOtpSend, shapeDiff
} from "./transmit.fixtures.ts"

const ORIGIN = "http://sesame.test"
const REDIRECT = "https://app.example.com/cb"
const CIS = "/compat/transmit/cis"
const INVALID_TOKEN = { message: "Invalid token", error_code: 401 }

/** Valid GB mobiles, each in its own prefix, so no SMS pumping limit links two tests. */
const mobiles = Array.from({ length: 40 }, (_, i) => `+447${400 + i * 7}${String(100000 + i).slice(-6)}`)
  .filter((n) => classifyPhone(n)?.type === "mobile")
const util = gl.PhoneNumberUtil.getInstance()
const mobile = (i: number) => mobiles[i] ?? util.format(util.getExampleNumberForType("GB", gl.PhoneNumberType.MOBILE), gl.PhoneNumberFormat.E164)

const setup = Effect.gen(function* () {
  const { tenant, keys } = yield* tenantFixture("Transmit Co", [REDIRECT])
  const base = yield* baseUrl
  /** `key` null: no Authorization header. */
  const post = (path: string, body: unknown, key: string | null = keys.test, headers: Record<string, string> = {}) =>
    wire(`${base}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(key === null ? {} : { authorization: `Bearer ${key}` }), ...headers },
      body: typeof body === "string" ? body : JSON.stringify(body)
    })
  const form = (fields: Record<string, string>) =>
    wire(`${base}${CIS}/oidc/token`, {
      method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams(fields).toString()
    })
  return { tenantId: tenant.id, keys, base, post, form, native: yield* clientFor(keys.test) }
})

const ok = (response: WireResponse) => {
  assert.strictEqual(response.status, 200, response.body)
  return jsonOf(response)
}

/** Transmit's error: the status and exactly `{message, error_code}`. */
const refused = (response: WireResponse, status: number, errorCode: string | number) => {
  assert.strictEqual(response.status, status, response.body)
  const body = jsonOf(response)
  assert.deepStrictEqual(Object.keys(body).sort(), ["error_code", "message"])
  assert.isString(body["message"])
  assert.strictEqual(body["error_code"], errorCode)
  return body
}

const noShapeDiff = (seed: Parameters<typeof shapeDiff>[0], actual: unknown) => assert.deepStrictEqual(shapeDiff(seed, actual), [])

/** The test outbox's newest message to `to` (native, with the test key). */
const lastMessage = (native: Effect.Success<ReturnType<typeof clientFor>>, to: string) =>
  Effect.map(native.test.messages({ query: { to } }), ({ messages }) => messages[0]?.text ?? "")

/** The email's hosted link → its page → the confirm POST → Transmit's redirect `redirect_uri?code=…&state=…`. */
const followLink = (base: string, text: string) =>
  Effect.gen(function* () {
    const token = /\/l\/([A-Za-z0-9_-]+)/.exec(text)?.[1] ?? ""
    const page = yield* wire(`${base}/l/${token}`)
    assert.strictEqual(page.status, 200)
    const csrf = /name="csrf" value="([^"]+)"/.exec(page.body)?.[1] ?? ""
    const rt = /name="rt" value="(\d+)"/.exec(page.body)?.[1] ?? ""
    const done = yield* wire(`${base}/l/${token}`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: ORIGIN },
      body: new URLSearchParams({ csrf, rt }).toString()
    })
    assert.strictEqual(done.status, 303)
    return new URL(String(done.headers["location"]))
  })

const claimsOf = (base: string, idToken: string) =>
  Effect.gen(function* () {
    const jwks = createLocalJWKSet(JSON.parse((yield* wire(`${base}/test/.well-known/jwks.json`)).body))
    return (yield* Effect.promise(() => jwtVerify(idToken, jwks))).payload
  })

const suite = (label: string, database: typeof pgliteLayer) =>
  layer(serverLayer(database), { timeout: 60_000, excludeTestServices: true })(label, (it) => {
    it.effect("seed examples: link send → hosted page → link authenticate; OTP by SMS bound to an email → authenticate", () =>
      Effect.gen(function* () {
        const { base, post, native } = yield* setup
        // T1 as the seed prints it (its 0 and no redirect_uri) is refused, in Transmit's words
        refused(yield* post(`${CIS}/v1/auth/link/email/send`, seedLinkSend.request), 400, "system_invalid_input")
        const sent = ok(yield* post(`${CIS}/v1/auth/link/email/send`, linkSendReplay("name@example.com", REDIRECT)))
        noShapeDiff(seedLinkSend.response, sent)
        assert.deepStrictEqual(sent, seedLinkSend.response)
        const mail = yield* lastMessage(native, "name@example.com")
        assert.include(mail, `${ORIGIN}/l/`)
        const landed = yield* followLink(base, mail)
        assert.strictEqual(`${landed.origin}${landed.pathname}`, REDIRECT)
        assert.strictEqual(landed.searchParams.get("state"), "string")
        const tokens = ok(yield* post(`${CIS}/v1/auth/link/email/authenticate`, linkAuthenticateReplay(landed.searchParams.get("code") ?? "")))
        noShapeDiff(seedLinkAuthenticate.response, tokens)
        assert.strictEqual(tokens["token_type"], "Bearer")
        assert.strictEqual(tokens["expires_in"], 3600)
        assert.strictEqual((yield* claimsOf(base, String(tokens["id_token"])))["email"], "name@example.com")

        const phone = mobile(0)
        const otp = ok(yield* post(`${CIS}/v1/auth/otp/send`, otpSendReplay("otp@example.com", phone)))
        noShapeDiff(seedOtpSend.response, otp)
        assert.strictEqual(otp["message"], "OTP sent")
        assert.deepStrictEqual(otp["approval_data"], seedOtpSend.request.approval_data)
        assert.match(String(otp["code"]), /^\d{6}$/)
        // the SMS went to custom_phone_number, in the caller's words with {app} and {otp} filled in
        const sms = yield* lastMessage(native, phone)
        assert.include(sms, `Transmit Co: your code is ${otp["code"]}`)
        assert.include(sms, "sum: 200")
        const signedIn = ok(yield* post(`${CIS}/v1/auth/otp/authenticate`, otpAuthenticateReplay("otp@example.com", String(otp["code"]))))
        noShapeDiff(seedOtpAuthenticate.response, signedIn)
        const claims = yield* claimsOf(base, String(signedIn["id_token"]))
        assert.deepStrictEqual(claims["approval_data"], seedOtpSend.request.approval_data)
        assert.strictEqual(claims["sid"], signedIn["session_id"])
      }))

    it.effect("a whole sign-in with a ClientAccessToken: email OTP → tokens → userinfo, refresh at /oidc/token, logout", () =>
      Effect.gen(function* () {
        const { keys, base, post, form } = yield* setup
        const issued = ok(yield* form({ grant_type: "client_credentials", client_id: "any", client_secret: keys.test }))
        assert.deepStrictEqual(Object.keys(issued).sort(), ["access_token", "expires_in", "token_type"])
        const bearer = String(issued["access_token"])
        const sent = ok(yield* post(`${CIS}/v1/auth/otp/send`, { channel: "email", identifier_type: "email", identifier: "Jane@Example.com" }, bearer))
        assert.deepStrictEqual(Object.keys(sent).sort(), ["code", "message"])
        const tokens = ok(yield* post(`${CIS}/v1/auth/otp/authenticate`, {
          passcode: sent["code"], identifier_type: "email", identifier: "jane@example.com"
        }, bearer))
        const access = { authorization: `Bearer ${String(tokens["access_token"])}` }
        const me = yield* wire(`${base}/v1/userinfo`, { headers: access })
        assert.strictEqual(me.status, 200)
        assert.strictEqual(jsonOf(me)["email"], "jane@example.com")

        const refreshed = ok(yield* form({ grant_type: "refresh_token", refresh_token: String(tokens["refresh_token"]) }))
        assert.deepStrictEqual(Object.keys(refreshed).sort(), Object.keys(tokens).sort())
        assert.strictEqual(refreshed["session_id"], tokens["session_id"])
        assert.notStrictEqual(refreshed["refresh_token"], tokens["refresh_token"])
        // the old refresh token is spent (its reuse also ends the session, natively)
        refused(yield* form({ grant_type: "refresh_token", refresh_token: String(tokens["refresh_token"]) }), 400, "invalid_grant")
        const revoked = yield* wire(`${base}/v1/userinfo`, { headers: { authorization: `Bearer ${String(refreshed["access_token"])}` } })
        assert.strictEqual(revoked.status, 401, "a reused refresh token ends its session")

        const again = ok(yield* post(`${CIS}/v1/auth/otp/send`, { channel: "email", identifier_type: "email", identifier: "jane@example.com" }, bearer))
        const second = ok(yield* post(`${CIS}/v1/auth/otp/authenticate`, {
          passcode: again["code"], identifier_type: "email", identifier: "jane@example.com"
        }, bearer))
        const secondAccess = { authorization: `Bearer ${String(second["access_token"])}` }
        assert.strictEqual((yield* wire(`${base}/v1/logout`, { method: "POST", headers: secondAccess })).status, 204)
        assert.strictEqual((yield* wire(`${base}/v1/userinfo`, { headers: secondAccess })).status, 401)
      }))

    it.effect("OTP by phone number; wrong, unknown, expired and locked passcodes; live keys get no code and no direct channel", () =>
      Effect.gen(function* () {
        const { keys, post } = yield* setup
        const sql = yield* SqlClient.SqlClient
        const phone = mobile(1)
        const sent = ok(yield* post(`${CIS}/v1/auth/otp/send`, {
          channel: "sms", identifier_type: "phone_number", identifier: phone, custom_sms_input: { custom_message: "{otp} is your {app} code" }
        }))
        const code = String(sent["code"])
        const wrong = code === "000000" ? "111111" : "000000"
        const verify = (passcode: string, identifier = phone, type = "phone_number") =>
          post(`${CIS}/v1/auth/otp/authenticate`, { passcode, identifier_type: type, identifier })
        refused(yield* verify(wrong), 400, "auth_invalid_credentials")
        refused(yield* verify("not-a-code"), 400, "auth_invalid_credentials")
        refused(yield* verify(code, "nobody@example.com", "email"), 400, "auth_invalid_credentials")
        ok(yield* verify(code))
        refused(yield* verify(code), 400, "auth_invalid_credentials")

        const late = ok(yield* post(`${CIS}/v1/auth/otp/send`, { channel: "email", identifier_type: "email", identifier: "late@example.com" }))
        yield* sql`UPDATE auth_requests SET expires_at = now() - interval '1 second' WHERE email = 'late@example.com'`
        refused(yield* verify(String(late["code"]), "late@example.com", "email"), 400, "auth_otp_passcode_expired")

        const locked = ok(yield* post(`${CIS}/v1/auth/otp/send`, { channel: "email", identifier_type: "email", identifier: "lock@example.com" }))
        const guess = String(locked["code"]) === "000000" ? "111111" : "000000"
        // native maxAttempts (5): five wrong passcodes are wrong, then even the right one is locked out
        for (let i = 0; i < 5; i++) refused(yield* verify(guess, "lock@example.com", "email"), 400, "auth_invalid_credentials")
        const lockedOut = yield* verify(String(locked["code"]), "lock@example.com", "email")
        refused(lockedOut, 403, "auth_locked")
        assert.match(String(lockedOut.headers["retry-after"]), /^[1-9]\d*$/)

        const live = ok(yield* post(`${CIS}/v1/auth/otp/send`, { channel: "email", identifier_type: "email", identifier: "live@example.com" }, keys.live))
        assert.deepStrictEqual(live, { message: "OTP sent" })
        refused(yield* post(`${CIS}/v1/auth/otp/send`, { channel: "direct", identifier_type: "email", identifier: "live@example.com" }, keys.live), 400, "system_invalid_input")
        const direct = ok(yield* post(`${CIS}/v1/auth/otp/send`, { channel: "direct", identifier_type: "email", identifier: "direct@example.com" }))
        assert.match(String(direct["code"]), /^\d{6}$/)
      }))

    it.effect("org_id, session_id, resource and claims are accepted and not used: a new session beside the old, no organization claim, aud the tenant", () =>
      Effect.gen(function* () {
        const { tenantId, base, post } = yield* setup
        const email = "step@example.com"
        const signIn = (extra: Record<string, unknown>) =>
          Effect.gen(function* () {
            const sent = ok(yield* post(`${CIS}/v1/auth/otp/send`, { channel: "email", identifier_type: "email", identifier: email }))
            return ok(yield* post(`${CIS}/v1/auth/otp/authenticate`, { ...extra, passcode: sent["code"], identifier_type: "email", identifier: email }))
          })
        const first = yield* signIn({})
        const stepUp = yield* signIn({
          session_id: first["session_id"], org_id: "org_acme", resource: "https://api.example.com", claims: { id_token: { roles: null } }
        })
        // Transmit would have associated the sign-in with the session it was given; Sesame opens a new one
        assert.notStrictEqual(stepUp["session_id"], first["session_id"])
        for (const tokens of [first, stepUp]) {
          const me = yield* wire(`${base}/v1/userinfo`, { headers: { authorization: `Bearer ${String(tokens["access_token"])}` } })
          assert.strictEqual(me.status, 200, "both sessions are live")
          assert.strictEqual(jsonOf(me)["sid"], tokens["session_id"])
        }
        const access = yield* claimsOf(base, String(stepUp["access_token"]))
        const id = yield* claimsOf(base, String(stepUp["id_token"]))
        for (const claims of [access, id]) {
          assert.strictEqual(claims["aud"], tenantId)
          assert.strictEqual(claims["sid"], stepUp["session_id"])
          assert.deepStrictEqual(Object.keys(claims).filter((name) => /org|role/i.test(name)), [])
          assert.notInclude(JSON.stringify(claims), "org_acme")
        }
      }))

    it.effect("hosted link → exchange: no state, no state parameter; the code is bound to its tenant and mode; the tokens work; email_expiration is minutes", () =>
      Effect.gen(function* () {
        const { keys, base, post, native } = yield* setup
        const sql = yield* SqlClient.SqlClient
        const other = yield* tenantFixture("Other Co", [REDIRECT])
        // Transmit's links always go through the hosted page, whatever the tenant's own link mode
        yield* native.tenant.update({ payload: { settings: { linkMode: "direct" } } })
        const authenticate = (code: string, key: string) => post(`${CIS}/v1/auth/link/email/authenticate`, { code }, key)
        ok(yield* post(`${CIS}/v1/auth/link/email/send`, { email: "bound@example.com", redirect_uri: REDIRECT, email_expiration: 1 }))
        const landed = yield* followLink(base, yield* lastMessage(native, "bound@example.com"))
        assert.deepStrictEqual([...landed.searchParams.keys()], ["code"])
        const code = landed.searchParams.get("code") ?? ""
        // another mode's or tenant's key finds no such code, and does not spend it
        assert.strictEqual(refused(yield* authenticate(code, keys.live), 400, 400)["message"], "Invalid magic link code")
        assert.strictEqual(refused(yield* authenticate(code, other.keys.test), 400, 400)["message"], "Invalid magic link code")
        const tokens = ok(yield* authenticate(code, keys.test))
        const me = yield* wire(`${base}/v1/userinfo`, { headers: { authorization: `Bearer ${String(tokens["access_token"])}` } })
        assert.strictEqual(jsonOf(me)["email"], "bound@example.com")
        assert.deepStrictEqual((yield* claimsOf(base, String(tokens["access_token"])))["amr"], ["link"])

        ok(yield* post(`${CIS}/v1/auth/link/email/send`, { email: "hour@example.com", redirect_uri: REDIRECT, email_expiration: 60 }))
        const lifetimes = yield* sql<{ email: string; seconds: number }>`
          SELECT email, extract(epoch FROM expires_at - created_at)::int AS seconds FROM auth_requests
          WHERE email IN ('bound@example.com', 'hour@example.com') ORDER BY email`
        assert.deepStrictEqual(lifetimes.map((row) => [row.email, Number(row.seconds)]), [["bound@example.com", 60], ["hour@example.com", 3600]])
      }))

    it.effect("a same-origin tenant's link send is refused before anything is sent (the exchange would need an id Transmit never returns)", () =>
      Effect.gen(function* () {
        const { post, native } = yield* setup
        yield* native.tenant.update({ payload: { settings: { sameOriginLinks: true } } })
        const refusal = refused(yield* post(`${CIS}/v1/auth/link/email/send`, { email: "same@example.com", redirect_uri: REDIRECT }), 403, 403)
        assert.include(String(refusal["message"]), "sameOriginLinks")
        assert.deepStrictEqual((yield* native.test.messages({ query: { to: "same@example.com" } })).messages, [])
        // passcodes do not depend on it
        ok(yield* post(`${CIS}/v1/auth/otp/send`, { channel: "email", identifier_type: "email", identifier: "same@example.com" }))
      }))

    it.effect("an SMS bound to an email verifies by that email only; by its phone it is a wrong passcode", () =>
      Effect.gen(function* () {
        const { post } = yield* setup
        const phone = mobile(4)
        const sent = ok(yield* post(`${CIS}/v1/auth/otp/send`, {
          channel: "sms", identifier_type: "email", identifier: "bound-sms@example.com", custom_phone_number: phone
        }))
        const byPhone = { passcode: sent["code"], identifier_type: "phone_number", identifier: phone }
        refused(yield* post(`${CIS}/v1/auth/otp/authenticate`, byPhone), 400, "auth_invalid_credentials")
        ok(yield* post(`${CIS}/v1/auth/otp/authenticate`, { passcode: sent["code"], identifier_type: "email", identifier: "bound-sms@example.com" }))
      }))

    it.effect("enumeration: with sign-up off an unknown address gets the member's answer, and its passcode never verifies", () =>
      Effect.gen(function* () {
        const { post, native } = yield* setup
        const otp = (identifier: string) => post(`${CIS}/v1/auth/otp/send`, { channel: "email", identifier_type: "email", identifier })
        const member = ok(yield* otp("member@example.com"))
        ok(yield* post(`${CIS}/v1/auth/otp/authenticate`, { passcode: member["code"], identifier_type: "email", identifier: "member@example.com" }))
        yield* native.tenant.update({ payload: { settings: { allowSignup: false } } })
        const known = yield* otp("member@example.com")
        const unknown = yield* otp("stranger@example.com")
        assert.strictEqual(unknown.status, known.status)
        assert.deepStrictEqual(Object.keys(ok(unknown)).sort(), Object.keys(ok(known)).sort())
        const link = (email: string) => post(`${CIS}/v1/auth/link/email/send`, { email, redirect_uri: REDIRECT })
        assert.deepStrictEqual(ok(yield* link("stranger@example.com")), ok(yield* link("member@example.com")))
        refused(yield* post(`${CIS}/v1/auth/otp/authenticate`, {
          passcode: ok(unknown)["code"], identifier_type: "email", identifier: "stranger@example.com"
        }), 400, "auth_invalid_credentials")
      }))

    it.effect("send refusals: redirect off the allowlist, missing redirect, a message without {otp}, another delivery address, unsupported identifiers", () =>
      Effect.gen(function* () {
        const { post } = yield* setup
        const link = `${CIS}/v1/auth/link/email/send`
        const off = refused(yield* post(link, { email: "a@example.com", redirect_uri: "https://evil.example/cb" }), 400, 400)
        assert.strictEqual(off["message"], "redirect_uri is not one of the allowed redirect URIs configured for this app")
        refused(yield* post(link, { email: "a@example.com" }), 400, "system_invalid_input")
        refused(yield* post(link, { email: "a@example.com", redirect_uri: REDIRECT, email_expiration: 61 }), 400, "system_invalid_input")
        refused(yield* post(link, { identifier_type: "phone_number", identifier: mobile(2), redirect_uri: REDIRECT }), 400, "system_invalid_input")
        const subject = refused(yield* post(link, { email: "a@example.com", redirect_uri: REDIRECT, email_content: { subject: "x".repeat(300) } }), 400, "system_invalid_input")
        assert.match(String(subject["message"]), /^email_content\.subject/)
        const otp = `${CIS}/v1/auth/otp/send`
        const base = { channel: "sms", identifier_type: "phone_number", identifier: mobile(2) }
        refused(yield* post(otp, { ...base, custom_sms_input: { custom_message: "your code for {app}" } }), 400, "system_invalid_input")
        refused(yield* post(otp, { ...base, custom_sms_input: { custom_message: "{{code}} {otp} {app}" } }), 400, "system_invalid_input")
        refused(yield* post(otp, { ...base, custom_phone_number: mobile(3) }), 400, "system_invalid_input")
        refused(yield* post(otp, { channel: "email", identifier_type: "email", identifier: "a@example.com", custom_email: "b@example.com" }), 400, "system_invalid_input")
        refused(yield* post(otp, { channel: "sms", identifier_type: "email", identifier: "a@example.com" }), 400, "system_invalid_input")
        refused(yield* post(otp, { channel: "email", identifier_type: "username", identifier: "ada" }), 400, "system_invalid_input")
        refused(yield* post(otp, { channel: "email", identifier_type: "email", identifier: "a@example.com", expires_in: 16 }), 400, "system_invalid_input")
        refused(yield* post(otp, { channel: "email", identifier_type: "email", identifier: "not an email" }), 400, "system_invalid_input")
        refused(yield* post(otp, { channel: "email", identifier_type: "email", identifier: "a@example.com", approval_data: { "bad key": "1" } }), 400, "system_invalid_input")
      }))

    it.effect("link codes: used, expired and unknown codes are 400 'Invalid magic link code'-style answers", () =>
      Effect.gen(function* () {
        const { base, post, native } = yield* setup
        const sql = yield* SqlClient.SqlClient
        const authenticate = (code: string) => post(`${CIS}/v1/auth/link/email/authenticate`, { code })
        ok(yield* post(`${CIS}/v1/auth/link/email/send`, { email: "used@example.com", redirect_uri: REDIRECT }))
        const code = (yield* followLink(base, yield* lastMessage(native, "used@example.com"))).searchParams.get("code") ?? ""
        ok(yield* authenticate(code))
        assert.strictEqual(refused(yield* authenticate(code), 400, 400)["message"], "Invalid magic link code")
        assert.strictEqual(refused(yield* authenticate("x".repeat(43)), 400, 400)["message"], "Invalid magic link code")
        assert.strictEqual(refused(yield* authenticate("short"), 400, 400)["message"], "Invalid magic link code")

        ok(yield* post(`${CIS}/v1/auth/link/email/send`, { identifier_type: "email", identifier: "slow@example.com", redirect_uri: REDIRECT }))
        const slow = (yield* followLink(base, yield* lastMessage(native, "slow@example.com"))).searchParams.get("code") ?? ""
        yield* sql`UPDATE exchange_codes SET expires_at = now() - interval '1 second'
          WHERE auth_request_id IN (SELECT id FROM auth_requests WHERE email = 'slow@example.com')`
        assert.strictEqual(refused(yield* authenticate(slow), 400, 400)["message"], "Magic link code expired")
      }))

    it.effect("keys: missing, unknown, revoked (and its ClientAccessToken) answer 401 Invalid token; the token endpoint refuses bad clients and grants", () =>
      Effect.gen(function* () {
        const { post, form, native } = yield* setup
        const send = (key: string | null) => post(`${CIS}/v1/auth/otp/send`, { channel: "email", identifier_type: "email", identifier: "k@example.com" }, key)
        assert.deepStrictEqual(jsonOf(yield* send(null)), INVALID_TOKEN)
        assert.strictEqual((yield* send(null)).status, 401)
        assert.deepStrictEqual(refused(yield* send(`sk_test_${"A".repeat(43)}`), 401, 401), INVALID_TOKEN)
        assert.deepStrictEqual(refused(yield* send("garbage"), 401, 401), INVALID_TOKEN)
        const created = yield* native.keys.create({ payload: { name: "doomed", mode: "test", scopes: ["passwordless:send"] } })
        const bearer = String(ok(yield* form({ grant_type: "client_credentials", client_secret: created.secret }))["access_token"])
        ok(yield* send(bearer))
        yield* native.keys.revoke({ params: { keyId: created.key.id } })
        assert.deepStrictEqual(refused(yield* send(created.secret), 401, 401), INVALID_TOKEN)
        assert.deepStrictEqual(refused(yield* send(bearer), 401, 401), INVALID_TOKEN)
        // a key without passwordless:verify cannot authenticate
        const sendOnly = yield* native.keys.create({ payload: { name: "send only", mode: "test", scopes: ["passwordless:send"] } })
        refused(yield* post(`${CIS}/v1/auth/otp/authenticate`, { passcode: "123456", identifier_type: "email", identifier: "k@example.com" }, sendOnly.secret), 403, 403)
        // the key's IP allowlist (the test calls from 127.0.0.1)
        const fenced = yield* native.keys.create({ payload: { name: "fenced", mode: "test", scopes: ["passwordless:send"], ipAllowlist: ["10.0.0.0/8"] } })
        refused(yield* send(fenced.secret), 403, 403)

        refused(yield* form({ grant_type: "client_credentials", client_secret: created.secret }), 401, 401)
        refused(yield* form({ grant_type: "client_credentials" }), 401, 401)
        refused(yield* form({ grant_type: "password", client_secret: sendOnly.secret }), 400, "unsupported_grant_type")
        refused(yield* form({ grant_type: "refresh_token", refresh_token: "rt_nope" }), 400, "invalid_grant")
      }))

    it.effect("rate limited: 429 in Transmit's words with Retry-After; X-RateLimit-* on every keyed answer", () =>
      Effect.gen(function* () {
        const { post, native } = yield* setup
        yield* native.tenant.update({ payload: { settings: { limits: { sendPerIdentifierMinute: 1 } } } })
        const body = { channel: "email", identifier_type: "email", identifier: "busy@example.com" }
        const first = yield* post(`${CIS}/v1/auth/otp/send`, body)
        ok(first)
        for (const header of ["x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset", "x-request-id"]) assert.isDefined(first.headers[header], header)
        const limited = yield* post(`${CIS}/v1/auth/otp/send`, body)
        refused(limited, 429, 429)
        assert.match(String(limited.headers["retry-after"]), /^\d+$/)
        assert.isDefined(limited.headers["x-ratelimit-limit"])
      }))

    it.effect("the edge under the prefix: malformed JSON, 64 KiB, wrong content type, unknown route; the group is in /openapi.json", () =>
      Effect.gen(function* () {
        const { base, post, keys } = yield* setup
        refused(yield* post(`${CIS}/v1/auth/otp/send`, '{"channel": "email",'), 400, "system_invalid_input")
        refused(yield* post(`${CIS}/v1/auth/otp/send`, { identifier: "x".repeat(70 * 1024) }), 413, 413)
        refused(yield* post(`${CIS}/v1/auth/otp/send`, "channel=email", keys.test, { "content-type": "text/plain" }), 415, 415)
        refused(yield* post(`${CIS}/oidc/token`, "grant_type=client_credentials", null, { "content-type": "text/plain" }), 415, 415)
        // the token endpoint takes its form, or the same fields as JSON
        assert.strictEqual(ok(yield* post(`${CIS}/oidc/token`, { grant_type: "client_credentials", client_secret: keys.test }, null))["token_type"], "Bearer")
        refused(yield* post(`${CIS}/v1/auth/nothing/here`, {}), 404, 404)
        refused(yield* wire(`${base}${CIS}/v1/auth/otp/send`), 404, 404)
        const openapi = JSON.parse((yield* wire(`${base}/openapi.json`)).body)
        for (const path of ["link/email/send", "link/email/authenticate", "otp/send", "otp/authenticate"]) {
          assert.property(openapi.paths, `${CIS}/v1/auth/${path}`)
        }
        assert.property(openapi.paths, `${CIS}/oidc/token`)
      }))
  })

suite("Transmit compat (PGlite)", pgliteLayer)
describe.skipIf(!hasPostgres)("PostgreSQL", () => {
  suite("Transmit compat (PostgreSQL)", postgresLayer)
})
