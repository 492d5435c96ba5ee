/**
 * Scalekit's headless magic link & OTP API over real HTTP (COMPAT.md §2): the seed's documented
 * examples replayed, a whole sign-in (with the key and with an /oauth/token bearer), every documented
 * refusal in Scalekit's gRPC-JSON body and status, and the wire-level refusals under the prefix. On
 * PGlite and PostgreSQL; the server runs on TestClock (expiry, cooldowns).
 */
import { assert, describe, layer } from "@effect/vitest"
import { Clock, Effect } from "effect"
import { TestClock } from "effect/testing"
import type { TenantSettingsPatch } from "../../src/api/Tenant.ts"
import { hasPostgres, pgliteLayer, postgresLayer } from "../support/Db.ts"
import { baseUrl, clientFor, serverLayer, tenantFixture } from "../support/Server.ts"
import { jsonOf, wire } from "../support/Wire.ts"
import {
  type FieldSpec, MAGICLINK_AUTH_URI, RESEND, resendExample, SEED_EMAIL, SEED_STATE, SEND, sendAnswer, sendExamples, TOKEN,
  VERIFY, verifyAnswer, verifyCodeExample, verifyLinkExample
} from "./scalekit.fixtures.ts"

const ERROR_INFO = "type.googleapis.com/scalekit.v1.errdetails.ErrorInfo"

interface Answer {
  readonly status: number
  readonly headers: Readonly<Record<string, string | ReadonlyArray<string> | undefined>>
  readonly body: Record<string, unknown>
}

const post = (path: string, body: string, headers: Record<string, string>) =>
  Effect.gen(function* () {
    const response = yield* wire(`${yield* baseUrl}${path}`, { method: "POST", headers, body })
    return { status: response.status, headers: response.headers, body: jsonOf(response) } satisfies Answer
  })

/** A JSON call as Scalekit's REST clients make it: `Authorization: Bearer <token>`. */
const call = (path: string, body: unknown, bearer?: string) =>
  post(path, JSON.stringify(body), {
    "content-type": "application/json",
    ...(bearer === undefined ? {} : { authorization: `Bearer ${bearer}` })
  })

const tokenFor = (form: Record<string, string>) =>
  post(TOKEN, new URLSearchParams(form).toString(), { "content-type": "application/x-www-form-urlencoded" })

/** The answer has exactly the documented fields, each of the documented type. */
const conforms = (body: Record<string, unknown>, spec: Readonly<Record<string, FieldSpec>>) => {
  assert.deepStrictEqual(Object.keys(body).sort(), Object.keys(spec).sort(), JSON.stringify(body))
  for (const [field, kind] of Object.entries(spec)) {
    const value = body[field]
    if (kind === "digits") assert.match(String(value), /^[0-9]+$/, field)
    if (kind === "digits" || kind === "string") assert.typeOf(value, "string", field)
    else if (kind === "number") assert.typeOf(value, "number", field)
    else assert.include(kind, value, field)
  }
}

/** Scalekit's error body: `{code, message, details: [ErrorInfo]}` with the gRPC code and the HTTP status. */
const refused = (answer: Answer, status: number, code: number, errorCode: string) => {
  assert.strictEqual(answer.status, status, JSON.stringify(answer.body))
  assert.deepStrictEqual(Object.keys(answer.body).sort(), ["code", "details", "message"])
  assert.strictEqual(answer.body["code"], code)
  assert.typeOf(answer.body["message"], "string")
  const details = answer.body["details"]
  assert.isArray(details)
  assert.deepInclude(Array.isArray(details) ? details[0] : undefined, { "@type": ERROR_INFO, error_code: errorCode })
  return String(answer.body["message"])
}

const header = (answer: Answer, name: string) => {
  const value = answer.headers[name]
  return typeof value === "string" ? value : undefined
}

/** A tenant (allowlisting the seed's magic-link URI) with its test key, its settings patched. */
const tenant = (settings: TenantSettingsPatch = {}) =>
  Effect.gen(function* () {
    const { keys } = yield* tenantFixture("Scalekit Co", [MAGICLINK_AUTH_URI, "https://app.example.com/*"])
    const native = yield* clientFor(keys.test)
    yield* native.tenant.update({ payload: { settings } })
    return { key: keys.test, native }
  })

type Native = Effect.Success<ReturnType<typeof tenant>>["native"]

/** The newest test-outbox email of an auth request: its code and the link token of its link. */
const mailOf = (native: Native, to: string, authRequestId: unknown) =>
  Effect.gen(function* () {
    const { messages } = yield* native.test.messages({ query: { to } })
    const text = messages.find((m) => m.authRequestId === authRequestId)?.text ?? ""
    return {
      text,
      code: /\b(\d{6})\b/.exec(text)?.[1] ?? "",
      linkToken: /[?&]link_token=([A-Za-z0-9_-]+)/.exec(text)?.[1] ?? ""
    }
  })

const suite = (name: string, database: typeof pgliteLayer) =>
  layer(serverLayer(database), { timeout: 120_000 })(name, (it) => {
    it.effect("seed: every send example answers the documented shape, for each type; links land on magiclink_auth_uri?link_token=", () =>
      Effect.gen(function* () {
        for (const type of ["OTP", "LINK", "LINK_OTP"] as const) {
          // the type is the tenant's (Scalekit's dashboard choice); its link mode stays the default, hosted
          const { key, native } = yield* tenant({ defaultType: type, limits: { linkSendPerIdentifierHour: 100 } })
          for (const example of sendExamples) {
            const now = Math.floor((yield* Clock.currentTimeMillis) / 1000)
            const sent = yield* call(SEND, example.body, key)
            assert.strictEqual(sent.status, 200, `${type} ${example.name}: ${JSON.stringify(sent.body)}`)
            conforms(sent.body, sendAnswer)
            assert.strictEqual(sent.body["passwordless_type"], type)
            assert.strictEqual(sent.body["expires_in"], 300)
            assert.strictEqual(sent.body["expires_at"], String(now + 300))
            assert.notProperty(sent.body, "code")
            const mail = yield* mailOf(native, SEED_EMAIL, sent.body["auth_request_id"])
            if (type === "OTP") assert.notInclude(mail.text, "link_token")
            else {
              assert.include(mail.text, `${MAGICLINK_AUTH_URI}?link_token=${mail.linkToken}`)
              assert.notInclude(mail.text, "/l/")
            }
            if (type !== "LINK") assert.match(mail.code, /^\d{6}$/)
          }
        }
      }))

    it.effect("whole sign-in with an /oauth/token bearer: send, resend, verify by code; no session is issued; the code is single use", () =>
      Effect.gen(function* () {
        const { key, native } = yield* tenant()
        const token = yield* tokenFor({ grant_type: "client_credentials", client_id: "skc_any", client_secret: key })
        assert.strictEqual(token.status, 200)
        assert.deepStrictEqual(Object.keys(token.body).sort(), ["access_token", "expires_in", "token_type"])
        assert.strictEqual(token.body["token_type"], "Bearer")
        const bearer = String(token.body["access_token"])
        const email = "ada@example.com"

        const sent = yield* call(SEND, { email, state: "st-1", template: "SIGNUP" }, bearer)
        assert.strictEqual(sent.status, 200)
        const id = String(sent.body["auth_request_id"])
        const first = yield* mailOf(native, email, id)
        // the resend cooldown (30 s) has passed; "new credentials on resend" (rotate) is the default
        yield* TestClock.adjust("31 seconds")
        const resent = yield* call(RESEND, resendExample(id), bearer)
        assert.strictEqual(resent.status, 200)
        conforms(resent.body, sendAnswer)
        assert.strictEqual(resent.body["auth_request_id"], id)
        const second = yield* mailOf(native, email, id)
        assert.notStrictEqual(second.code, first.code)

        const verified = yield* call(VERIFY, verifyCodeExample(second.code, id), bearer)
        assert.strictEqual(verified.status, 200, JSON.stringify(verified.body))
        conforms(verified.body, verifyAnswer)
        assert.deepStrictEqual(verified.body, { email, state: "st-1", template: "SIGNUP", passwordless_type: "OTP" })

        // Scalekit leaves the session to the application: the user exists, with no session behind it
        const [user] = (yield* native.users.find({ query: { email } })).users
        if (user === undefined) return assert.fail("verify made no user")
        assert.isNotNull(user.emailVerifiedAt)
        assert.deepStrictEqual((yield* native.sessions.list({ params: { userId: user.id } })).sessions, [])
        const again = yield* call(VERIFY, verifyCodeExample(second.code, id), bearer)
        refused(again, 400, 9, "FAILED_PRECONDITION")
      }))

    it.effect("magic link: link_token alone verifies; the same-origin switch requires auth_request_id; a used link is refused", () =>
      Effect.gen(function* () {
        const { key, native } = yield* tenant({ defaultType: "LINK" })
        const send = (email: string) =>
          Effect.gen(function* () {
            const sent = yield* call(SEND, { email, state: SEED_STATE, magiclink_auth_uri: MAGICLINK_AUTH_URI }, key)
            const id = String(sent.body["auth_request_id"])
            return { id, linkToken: (yield* mailOf(native, email, id)).linkToken }
          })
        const alone = yield* send("go@example.com")
        const byLink = yield* call(VERIFY, verifyLinkExample(alone.linkToken), key)
        assert.strictEqual(byLink.status, 200)
        conforms(byLink.body, verifyAnswer)
        assert.deepStrictEqual(byLink.body, { email: "go@example.com", state: SEED_STATE, template: "SIGNIN", passwordless_type: "LINK" })
        const used = yield* call(VERIFY, verifyLinkExample(alone.linkToken), key)
        assert.include(refused(used, 400, 9, "FAILED_PRECONDITION"), "already used")
        // the curl and Node examples send the id too (optional when same-origin links are off)
        const both = yield* send("node@example.com")
        const withBoth = yield* call(VERIFY, verifyLinkExample(both.linkToken, both.id), key)
        assert.strictEqual(withBoth.status, 200, JSON.stringify(withBoth.body))
        assert.deepStrictEqual(withBoth.body, { email: "node@example.com", state: SEED_STATE, template: "SIGNIN", passwordless_type: "LINK" })

        yield* native.tenant.update({ payload: { settings: { sameOriginLinks: true } } })
        const guarded = yield* send("curl@example.com")
        refused(yield* call(VERIFY, verifyLinkExample(guarded.linkToken), key), 403, 7, "PERMISSION_DENIED")
        const other = yield* send("other@example.com")
        refused(yield* call(VERIFY, verifyLinkExample(guarded.linkToken, other.id), key), 403, 7, "PERMISSION_DENIED")
        const withId = yield* call(VERIFY, verifyLinkExample(guarded.linkToken, guarded.id), key)
        assert.strictEqual(withId.status, 200)
        conforms(withId.body, verifyAnswer)
        assert.strictEqual(withId.body["email"], "curl@example.com")
      }))

    it.effect("state up to 1000 characters round-trips; template variables are mapped to native names, reserved and colliding names refused", () =>
      Effect.gen(function* () {
        // the tenant's own email text, written with the native names of Scalekit's variables
        const { key, native } = yield* tenant({
          templates: [{ template: "SIGNIN", locale: "en", text: "Code {{code}} for team {{team_name}}, 2FA {{_2fa}}." }]
        })
        const state = "s".repeat(1000)
        const variables = { "team-name": "Alpha", "2fa": "on" }
        const sent = yield* call(SEND, { email: "long@example.com", state, template: "UNSPECIFIED", template_variables: variables }, key)
        assert.strictEqual(sent.status, 200, JSON.stringify(sent.body))
        const id = String(sent.body["auth_request_id"])
        const mail = yield* mailOf(native, "long@example.com", id)
        assert.strictEqual(mail.text, `Code ${mail.code} for team Alpha, 2FA on.`)
        const verified = yield* call(VERIFY, verifyCodeExample(mail.code, id), key)
        assert.deepStrictEqual(verified.body, { email: "long@example.com", state, template: "SIGNIN", passwordless_type: "OTP" })
        const shortState = yield* call(SEND, { email: "short@example.com" }, key)
        const short = yield* mailOf(native, "short@example.com", shortState.body["auth_request_id"])
        const noState = yield* call(VERIFY, verifyCodeExample(short.code, String(shortState.body["auth_request_id"])), key)
        // proto3: an optional string never set is absent
        assert.deepStrictEqual(noState.body, { email: "short@example.com", template: "SIGNIN", passwordless_type: "OTP" })

        assert.include(refused(yield* call(SEND, { email: "x@example.com", state: "s".repeat(1001) }, key), 400, 3, "INVALID_ARGUMENT"), "state")
        const reserved = yield* call(SEND, { email: "x@example.com", template_variables: { otp: "1" } }, key)
        assert.include(refused(reserved, 400, 3, "INVALID_ARGUMENT"), "otp is reserved")
        const collide = yield* call(SEND, { email: "x@example.com", template_variables: { "team-name": "a", team_name: "b" } }, key)
        const details = collide.body["details"]
        assert.include(refused(collide, 400, 3, "INVALID_ARGUMENT"), "template_variables")
        assert.deepNestedPropertyVal(details, "[0].validation_error_info.field_violations[0].field", "template_variables.team_name")
        assert.include(String(collide.body["message"]), "team-name and team_name would both be {{team_name}}")
      }))

    it.effect("documented refusals: wrong code, expired, too many attempts, used, unknown request, cooldown, bad input", () =>
      Effect.gen(function* () {
        const { key, native } = yield* tenant({ maxAttempts: 3 })
        const sent = yield* call(SEND, { email: "err@example.com" }, key)
        const id = String(sent.body["auth_request_id"])
        const { code } = yield* mailOf(native, "err@example.com", id)
        const wrong = code === "000000" ? "111111" : "000000"
        const wrongAnswer = yield* call(VERIFY, verifyCodeExample(wrong, id), key)
        assert.include(refused(wrongAnswer, 400, 3, "INVALID_ARGUMENT"), "not correct")
        assert.notInclude(JSON.stringify(wrongAnswer.body), code)
        refused(yield* call(VERIFY, verifyCodeExample(wrong, id), key), 400, 3, "INVALID_ARGUMENT")
        refused(yield* call(VERIFY, verifyCodeExample(wrong, id), key), 400, 3, "INVALID_ARGUMENT")
        const locked = yield* call(VERIFY, verifyCodeExample(code, id), key)
        refused(locked, 429, 8, "RESOURCE_EXHAUSTED")
        assert.match(header(locked, "retry-after") ?? "", /^[1-9][0-9]*$/)

        const soon = yield* call(SEND, { email: "soon@example.com" }, key)
        const cooldown = yield* call(RESEND, resendExample(String(soon.body["auth_request_id"])), key)
        refused(cooldown, 429, 8, "RESOURCE_EXHAUSTED")
        assert.match(header(cooldown, "retry-after") ?? "", /^[1-9][0-9]*$/)
        const late = yield* call(SEND, { email: "late@example.com", expires_in: 60 }, key)
        const lateId = String(late.body["auth_request_id"])
        const lateMail = yield* mailOf(native, "late@example.com", lateId)
        yield* TestClock.adjust("61 seconds")
        assert.include(refused(yield* call(VERIFY, verifyCodeExample(lateMail.code, lateId), key), 400, 9, "FAILED_PRECONDITION"), "expired")

        refused(yield* call(RESEND, resendExample("ar_0000000000000000000000"), key), 404, 5, "NOT_FOUND")
        // the seed's placeholder id is not an id Sesame could have issued: a malformed field, not an unknown request
        assert.include(refused(yield* call(RESEND, resendExample("YC4QR-dVZVtNNVHcHwrnHNDV..."), key), 400, 3, "INVALID_ARGUMENT"), "auth_request_id")
        assert.include(refused(yield* call(RESEND, {}, key), 400, 3, "INVALID_ARGUMENT"), "auth_request_id")
        assert.include(refused(yield* call(VERIFY, { code }, key), 400, 3, "INVALID_ARGUMENT"), "auth_request_id")
        assert.include(refused(yield* call(VERIFY, { auth_request_id: id }, key), 400, 3, "INVALID_ARGUMENT"), "link_token")
        assert.include(refused(yield* call(SEND, { email: "x@example.com", expires_in: 5 }, key), 400, 3, "INVALID_ARGUMENT"), "expires_in")
        refused(yield* call(SEND, { email: "not-an-email" }, key), 400, 3, "INVALID_ARGUMENT")
        refused(yield* call(SEND, { expires_in: 300 }, key), 400, 3, "INVALID_ARGUMENT")
        // proto3 JSON's other spellings (an int as a string, an enum as its number) are refused, as the guide says
        assert.include(refused(yield* call(SEND, { email: "x@example.com", expires_in: "300" }, key), 400, 3, "INVALID_ARGUMENT"), "expires_in")
        refused(yield* call(SEND, { email: "x@example.com", template: 1 }, key), 400, 3, "INVALID_ARGUMENT")
      }))

    it.effect("seed defaults: expires_in 300 when not sent; resend answers the same request and expiry; 'new credentials on resend' off resends the same code", () =>
      Effect.gen(function* () {
        const { key, native } = yield* tenant()
        const now = Math.floor((yield* Clock.currentTimeMillis) / 1000)
        const sent = yield* call(SEND, { email: "dflt@example.com" }, key)
        conforms(sent.body, sendAnswer)
        assert.strictEqual(sent.body["expires_in"], 300)
        assert.strictEqual(sent.body["expires_at"], String(now + 300))
        const id = String(sent.body["auth_request_id"])
        yield* TestClock.adjust("31 seconds")
        const resent = yield* call(RESEND, resendExample(id), key)
        conforms(resent.body, sendAnswer)
        // a resend does not extend the request's life (native rule): the same expiry, counting down
        assert.deepStrictEqual(resent.body, { auth_request_id: id, expires_at: String(now + 300), expires_in: 269, passwordless_type: "OTP" })

        yield* native.tenant.update({ payload: { settings: { resendStrategy: "reuse" } } })
        const kept = yield* call(SEND, { email: "same@example.com" }, key)
        const keptId = String(kept.body["auth_request_id"])
        const first = yield* mailOf(native, "same@example.com", keptId)
        yield* TestClock.adjust("31 seconds")
        assert.strictEqual((yield* call(RESEND, resendExample(keptId), key)).status, 200)
        const { messages } = yield* native.test.messages({ query: { to: "same@example.com" } })
        assert.strictEqual(messages.length, 2)
        for (const message of messages) assert.include(message.text, first.code)
        assert.strictEqual((yield* call(VERIFY, verifyCodeExample(first.code, keptId), key)).status, 200)
      }))

    it.effect("seed limits: up to 30 template variables, values up to 256 characters, template SIGNIN or SIGNUP; an OTP send ignores magiclink_auth_uri", () =>
      Effect.gen(function* () {
        const { key } = yield* tenant()
        const pairs = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`var_${i}`, "v"]))
        assert.strictEqual((yield* call(SEND, { email: "tv@example.com", template_variables: pairs(30) }, key)).status, 200)
        assert.include(refused(yield* call(SEND, { email: "tv@example.com", template_variables: pairs(31) }, key), 400, 3, "INVALID_ARGUMENT"), "template_variables")
        const long = yield* call(SEND, { email: "tv@example.com", template_variables: { team: "x".repeat(257) } }, key)
        assert.include(refused(long, 400, 3, "INVALID_ARGUMENT"), "template_variables")
        assert.strictEqual((yield* call(SEND, { email: "tv@example.com", template_variables: { team: "x".repeat(256) } }, key)).status, 200)
        assert.include(refused(yield* call(SEND, { email: "tv@example.com", template: "LOGIN" }, key), 400, 3, "INVALID_ARGUMENT"), "template")
        // the tenant's type is OTP: the link URI is not used, so not checked either (COMPAT.md §2.7.7)
        const otp = yield* call(SEND, { email: "tv@example.com", magiclink_auth_uri: "https://evil.example/verify" }, key)
        assert.strictEqual(otp.status, 200, JSON.stringify(otp.body))
        assert.strictEqual(otp.body["passwordless_type"], "OTP")
      }))

    it.effect("enumeration: with sign-up off an unknown address gets the member's answer, and its code never verifies", () =>
      Effect.gen(function* () {
        const { key, native } = yield* tenant()
        const member = yield* call(SEND, { email: "member@example.com" }, key)
        const memberMail = yield* mailOf(native, "member@example.com", member.body["auth_request_id"])
        assert.strictEqual((yield* call(VERIFY, verifyCodeExample(memberMail.code, String(member.body["auth_request_id"])), key)).status, 200)
        yield* native.tenant.update({ payload: { settings: { allowSignup: false } } })
        const known = yield* call(SEND, { email: "member@example.com", state: "s" }, key)
        const unknown = yield* call(SEND, { email: "stranger@example.com", state: "s" }, key)
        assert.strictEqual(unknown.status, known.status)
        conforms(unknown.body, sendAnswer)
        assert.deepStrictEqual({ ...unknown.body, auth_request_id: "" }, { ...known.body, auth_request_id: "" })
        const { messages } = yield* native.test.messages({ query: { to: "stranger@example.com" } })
        assert.deepStrictEqual(messages, [])
        refused(yield* call(VERIFY, verifyCodeExample("123456", String(unknown.body["auth_request_id"])), key), 400, 3, "INVALID_ARGUMENT")
      }))

    it.effect("links: magiclink_auth_uri off the allowlist or missing is INVALID_ARGUMENT", () =>
      Effect.gen(function* () {
        const { key } = yield* tenant({ defaultType: "LINK_OTP" })
        const off = yield* call(SEND, { email: "l@example.com", magiclink_auth_uri: "https://evil.example/verify" }, key)
        assert.include(refused(off, 400, 3, "INVALID_ARGUMENT"), "allowlist")
        const missing = yield* call(SEND, { email: "l@example.com" }, key)
        assert.include(refused(missing, 400, 3, "INVALID_ARGUMENT"), "magiclink_auth_uri")
      }))

    it.effect("keys: missing, unknown, revoked (key and its bearer), bad client_secret, wrong grant type", () =>
      Effect.gen(function* () {
        const { key, native } = yield* tenant()
        assert.strictEqual(refused(yield* call(SEND, { email: "k@example.com" }), 401, 16, "UNAUTHENTICATED"), "Token empty")
        const unknown = `sk_test_${"A".repeat(43)}`
        assert.strictEqual(refused(yield* call(SEND, { email: "k@example.com" }, unknown), 401, 16, "UNAUTHENTICATED"), "Invalid token")
        const created = yield* native.keys.create({ payload: { name: "scalekit", mode: "test", scopes: ["passwordless:send", "passwordless:verify"] } })
        const token = yield* tokenFor({ grant_type: "client_credentials", client_secret: created.secret })
        const bearer = String(token.body["access_token"])
        assert.strictEqual((yield* call(SEND, { email: "k@example.com" }, bearer)).status, 200)
        yield* native.keys.revoke({ params: { keyId: created.key.id } })
        assert.strictEqual(refused(yield* call(SEND, { email: "k@example.com" }, created.secret), 401, 16, "UNAUTHENTICATED"), "Token revoked")
        refused(yield* call(SEND, { email: "k@example.com" }, bearer), 401, 16, "UNAUTHENTICATED")
        refused(yield* tokenFor({ grant_type: "client_credentials", client_secret: created.secret }), 401, 16, "UNAUTHENTICATED")
        refused(yield* tokenFor({ grant_type: "client_credentials", client_secret: unknown }), 401, 16, "UNAUTHENTICATED")
        refused(yield* tokenFor({ grant_type: "client_credentials" }), 401, 16, "UNAUTHENTICATED")
        // client_secret_basic (RFC 6749 §2.3.1) and a JSON body are taken too
        const basic = yield* post(TOKEN, "grant_type=client_credentials", {
          "content-type": "application/x-www-form-urlencoded",
          authorization: `Basic ${Buffer.from(`skc_any:${key}`).toString("base64")}`
        })
        assert.strictEqual(basic.status, 200)
        const json = yield* call(TOKEN, { grant_type: "client_credentials", client_secret: key })
        assert.strictEqual(json.status, 200)
        assert.strictEqual((yield* call(SEND, { email: "k@example.com" }, String(json.body["access_token"]))).status, 200)
        assert.include(refused(yield* tokenFor({ grant_type: "password", client_secret: key }), 400, 3, "INVALID_ARGUMENT"), "client_credentials")
        const scopeless = yield* native.keys.create({ payload: { name: "verify only", mode: "test", scopes: ["passwordless:verify"] } })
        refused(yield* call(SEND, { email: "k@example.com" }, scopeless.secret), 403, 7, "PERMISSION_DENIED")
        // the key's IP allowlist holds for the key and its bearer alike (the test calls from 127.0.0.1)
        const fenced = yield* native.keys.create({ payload: { name: "fenced", mode: "test", scopes: ["passwordless:send"], ipAllowlist: ["10.0.0.0/8"] } })
        refused(yield* call(SEND, { email: "k@example.com" }, fenced.secret), 403, 7, "PERMISSION_DENIED")
        const fencedToken = yield* tokenFor({ grant_type: "client_credentials", client_secret: fenced.secret })
        // the token is issued (it carries no power of its own); each use checks the key behind it
        assert.strictEqual(fencedToken.status, 200)
        refused(yield* call(SEND, { email: "k@example.com" }, String(fencedToken.body["access_token"])), 403, 7, "PERMISSION_DENIED")
      }))

    it.effect("rate limited: RESOURCE_EXHAUSTED with Retry-After from the native limiter; X-RateLimit-* on every answer", () =>
      Effect.gen(function* () {
        const { key } = yield* tenant({ limits: { sendPerIdentifierMinute: 2 } })
        const first = yield* call(SEND, { email: "rl@example.com" }, key)
        assert.strictEqual(first.status, 200)
        assert.strictEqual(header(first, "x-ratelimit-limit"), "2")
        assert.strictEqual(header(first, "x-ratelimit-remaining"), "1")
        assert.match(header(first, "x-ratelimit-reset") ?? "", /^[0-9]+$/)
        assert.strictEqual((yield* call(SEND, { email: "rl@example.com" }, key)).status, 200)
        const limited = yield* call(SEND, { email: "rl@example.com" }, key)
        refused(limited, 429, 8, "RESOURCE_EXHAUSTED")
        assert.match(header(limited, "retry-after") ?? "", /^[1-9][0-9]*$/)
        assert.isDefined(header(limited, "x-ratelimit-limit"))
      }))

    it.effect("wire: malformed JSON, >64 KiB, wrong content type, unknown route and method answer in Scalekit's shape", () =>
      Effect.gen(function* () {
        const { key } = yield* tenant()
        const auth = { authorization: `Bearer ${key}` }
        refused(yield* post(SEND, "{\"email\":", { "content-type": "application/json", ...auth }), 400, 3, "INVALID_ARGUMENT")
        const big = JSON.stringify({ email: "big@example.com", state: "x".repeat(70 * 1024) })
        refused(yield* post(SEND, big, { "content-type": "application/json", ...auth }), 413, 8, "RESOURCE_EXHAUSTED")
        refused(yield* post(SEND, "email=a@example.com", { "content-type": "text/plain", ...auth }), 415, 3, "INVALID_ARGUMENT")
        refused(yield* post("/compat/scalekit/api/v1/passwordless/email/nope", "{}", { "content-type": "application/json", ...auth }), 404, 5, "NOT_FOUND")
        const get = yield* wire(`${yield* baseUrl}${SEND}`, { headers: auth })
        refused({ status: get.status, headers: get.headers, body: jsonOf(get) }, 404, 5, "NOT_FOUND")
        // the token endpoint takes a form; JSON elsewhere under the prefix only
        refused(yield* post(TOKEN, "grant_type=client_credentials", { "content-type": "text/plain" }), 415, 3, "INVALID_ARGUMENT")
        const openapi = yield* wire(`${yield* baseUrl}/openapi.json`)
        const paths = Object.keys((jsonOf(openapi)["paths"] ?? {}) as Record<string, unknown>)
        for (const path of [SEND, RESEND, VERIFY, TOKEN]) assert.include(paths, path)
      }))
  })

suite("Scalekit compatibility (PGlite)", pgliteLayer)

describe.skipIf(!hasPostgres)("PostgreSQL", () => {
  suite("Scalekit compatibility (PostgreSQL)", postgresLayer)
})
