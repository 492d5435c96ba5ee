import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { pgliteLayer } from "../support/Db.ts"
import { clientFor, errorCode, serverLayer, tenantFixture } from "../support/Server.ts"

layer(serverLayer(pgliteLayer), { timeout: 60_000, excludeTestServices: true })("stored tenant templates over HTTP", (it) => {
  it.effect("a saved template is used for its template and locale; a broken one is refused when saved", () =>
    Effect.gen(function* () {
      const { keys } = yield* tenantFixture()
      const test = yield* clientFor(keys.test)
      const refused = yield* Effect.flip(test.tenant.update({
        payload: { settings: { templates: [{ template: "SIGNIN", locale: "de", html: "<p>{{code}</p>", text: "{{code}}" }] } }
      }))
      assert.strictEqual(errorCode(refused), "VALIDATION_FAILED")
      assert.strictEqual(refused._tag === "ValidationFailed" ? refused.field : "", "settings.templates.0.html")
      yield* test.tenant.update({
        payload: { settings: { templates: [{ template: "SIGNIN", locale: "de", subject: "Anmeldung bei {{appName}}", html: "<p>Ihr Code: <b>{{code}}</b></p>", text: "Ihr Code: {{code}}" }] } }
      })
      const de = yield* test.passwordless.send({ payload: { email: "tpl@example.com", locale: "de-AT" } })
      const en = yield* test.passwordless.send({ payload: { email: "tpl2@example.com" } })
      const messages = (yield* test.test.messages({ query: {} })).messages
      const deMail = messages.find((m) => m.authRequestId === de.authRequestId)
      const enMail = messages.find((m) => m.authRequestId === en.authRequestId)
      assert.strictEqual(deMail?.subject, "Anmeldung bei Acme")
      assert.strictEqual(deMail?.text, `Ihr Code: ${de.code}`)
      assert.strictEqual(deMail?.html, `<p>Ihr Code: <b>${de.code}</b></p>`)
      assert.notStrictEqual(enMail?.subject, "Anmeldung bei Acme")
      assert.include(enMail?.text ?? "", en.code ?? "missing")
    }))
})
