import { Effect } from "effect"
import { HttpEffect, HttpServerResponse } from "effect/http"

/** Sets `Cache-Control: public, max-age=<seconds>` on the response of the current request. */
export const cacheFor = (seconds: number) =>
  HttpEffect.appendPreResponseHandler((_request, response) =>
    Effect.succeed(HttpServerResponse.setHeader(response, "cache-control", `public, max-age=${seconds}`)))
