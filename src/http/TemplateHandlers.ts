import { Effect } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { Api } from "../api/Api.ts"
import { CurrentKey } from "../api/Security.ts"
import { TemplatePreview } from "../templates/Preview.ts"

export const TemplateHandlers = HttpApiBuilder.group(Api, "templates", (h) =>
  Effect.gen(function* () {
    const templates = yield* TemplatePreview
    return h.handle("preview", ({ payload }) => Effect.flatMap(CurrentKey, (key) => templates.preview(key, payload)))
  }))
