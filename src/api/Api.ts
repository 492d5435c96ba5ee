import { HttpApi, OpenApi } from "effect/http-api"
import { PasswordlessApi } from "./Passwordless.ts"
import { RequestGuard } from "./Security.ts"
import { TestOutboxApi } from "./TestOutbox.ts"
import { WellknownApi } from "./Wellknown.ts"

/** The one definition of Sesame's public HTTP contract: server, OpenAPI document and client derive from it. */
export class Api extends HttpApi.make("sesame")
  .add(PasswordlessApi)
  .add(TestOutboxApi)
  .add(WellknownApi)
  .middleware(RequestGuard)
  .annotate(OpenApi.Title, "Sesame")
  .annotate(OpenApi.Version, "1") {}

export * from "./Errors.ts"
export * from "./Passwordless.ts"
export * from "./Security.ts"
export * from "./Shapes.ts"
export * from "./TestOutbox.ts"
export * from "./Wellknown.ts"
