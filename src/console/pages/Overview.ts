import { Effect } from "effect"
import { html } from "../Html.ts"
import type { Kit } from "../Kit.ts"

// PLACEHOLDER: replaced by the page's implementation.
export const overviewPages = (kit: Kit) =>
  kit.page("/console", (ctx) => kit.render(ctx, { title: "Overview", section: "overview", body: html`<h1>Overview</h1>` }))
void Effect
