/** The locales Sesame ships built-in texts for; anything else falls back (BCP 47 primary subtag, then English). */
export const BUILT_IN_LOCALES = ["en", "fr", "de", "es"] as const
export type BuiltInLocale = (typeof BUILT_IN_LOCALES)[number]

/**
 * Picks the best of `available` for `requested`: the exact tag ("pt-BR"), then its primary language
 * ("pt"), then `fallback`. Case-insensitive, as BCP 47 tags are.
 */
export const pickLocale = <L extends string>(requested: string | null | undefined, available: ReadonlyArray<L>, fallback: L): L => {
  if (requested === null || requested === undefined) return fallback
  const wanted = requested.toLowerCase()
  const exact = available.find((l) => l.toLowerCase() === wanted)
  if (exact !== undefined) return exact
  const primary = wanted.split("-")[0]
  return available.find((l) => l.toLowerCase() === primary) ?? fallback
}
