import { Schema } from "effect"
import { HttpApiEndpoint, HttpApiGroup } from "effect/http-api"
import { AuthRequestId, Channel, MessageId } from "../domain/Ids.ts"
import { ScopeMissing, ServiceUnavailable } from "./Errors.ts"
import { ApiKeyAuth, RequiredScope } from "./Security.ts"

export const TestMessage = Schema.Struct({
  id: MessageId,
  authRequestId: Schema.NullOr(AuthRequestId),
  channel: Channel,
  to: Schema.String,
  subject: Schema.NullOr(Schema.String),
  text: Schema.String,
  html: Schema.NullOr(Schema.String),
  createdAt: Schema.String
})
export type TestMessage = typeof TestMessage.Type

export class TestOutboxApi extends HttpApiGroup.make("test")
  .add(
    HttpApiEndpoint.get("messages", "/v1/test/messages", {
      query: {
        to: Schema.optionalKey(Schema.String),
        limit: Schema.optionalKey(Schema.NumberFromString.check(Schema.isInt(), Schema.isBetween({ minimum: 1, maximum: 100 })))
      },
      success: Schema.Struct({ messages: Schema.Array(TestMessage) }),
      // a live key gets SCOPE_MISSING: the test outbox exists only in test mode
      error: [ScopeMissing, ServiceUnavailable]
    })
  )
  // The outbox holds the codes and links of test sends: readable by the keys that may send them
  // (which get the same codes back from the send itself), not by every test key.
  .annotateEndpoints(RequiredScope, "passwordless:send")
  .middleware(ApiKeyAuth) {}
