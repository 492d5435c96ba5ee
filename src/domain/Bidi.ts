/**
 * Bidi embeddings, overrides, isolates and marks can visually reorder text ("Trojan Source",
 * CVE-2021-42574): an approval summary, a template variable or a stored template could make the user
 * read something other than what is there (a different amount, a different code). Every text Sesame
 * sends — the built-in email, stored templates, SMS — goes out without them.
 */
export const BIDI_CONTROLS = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu

export const stripBidi = (text: string): string => text.replace(BIDI_CONTROLS, "")
