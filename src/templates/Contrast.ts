/** WCAG 2.1 contrast (§1.4.3, 1.4.11): relative luminance of an sRGB "#rrggbb" and the ratio of two colours. */
const channel = (v: number): number => {
  const c = v / 255
  return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4
}

const rgb = (hex: string): [number, number, number] => [
  Number.parseInt(hex.slice(1, 3), 16), Number.parseInt(hex.slice(3, 5), 16), Number.parseInt(hex.slice(5, 7), 16)
]

export const luminance = (hex: string): number => {
  const [r, g, b] = rgb(hex)
  return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)
}

export const contrastRatio = (a: string, b: string): number => {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number]
  return (hi + 0.05) / (lo + 0.05)
}

const HEX = /^#[0-9a-fA-F]{6}$/

/**
 * The brand colour, darkened just enough that white text on it (and it on a white page) reaches
 * WCAG AA 4.5:1, so a tenant's pale brand colour never makes the button unreadable.
 */
export const accessibleAccent = (color: string | null | undefined, fallback = "#4F46E5"): string => {
  const base = color !== null && color !== undefined && HEX.test(color) ? color : fallback
  const [r, g, b] = rgb(base)
  for (let k = 0; k <= 20; k++) {
    const f = 1 - k / 20
    const hex = "#" + [r, g, b].map((v) => Math.round(v * f).toString(16).padStart(2, "0")).join("")
    if (contrastRatio(hex, "#ffffff") >= 4.5) return hex
  }
  return "#000000"
}
