/**
 * Server-rendered SVG bar charts for the console (#14): no script and no style attribute (the CSP
 * allows neither inline), colours from console.css (`.chart`, `.s1`…`.s4`). Each chart is an image
 * (`role="img"`) named by its `<title>` and described by a `<desc>` summing it up; the page puts the
 * same numbers in a table beside it for anyone who cannot see the bars.
 */
import { html, type Html } from "./Html.ts"

export interface Series {
  readonly label: string
  /** s1…s4 in console.css. */
  readonly tone: "s1" | "s2" | "s3" | "s4"
}

const WIDTH = 480
const TOP = 12
const LEFT = 40
const RIGHT = 8

/** A round upper bound for the axis: 1, 2, 5 × 10^n. */
export const niceMax = (value: number): number => {
  if (value <= 0) return 1
  const power = 10 ** Math.floor(Math.log10(value))
  for (const step of [1, 2, 5, 10]) if (step * power >= value) return step * power
  return 10 * power
}

const fmt = (n: number) => (Math.round(n * 100) / 100).toString()

/**
 * Stacked vertical bars: one bar per label (`values[i][s]` is series s at label i), the series stacked
 * in order from the axis up. `tick(i)` says which labels are written under the axis.
 */
export const stackedBars = (options: {
  readonly id: string
  readonly title: string
  readonly description: string
  readonly labels: ReadonlyArray<string>
  readonly series: ReadonlyArray<Series>
  readonly values: ReadonlyArray<ReadonlyArray<number>>
  readonly tick: (index: number) => boolean
}): Html => {
  const height = 200
  const bottom = 24
  const plotH = height - TOP - bottom
  const n = Math.max(1, options.labels.length)
  const slot = (WIDTH - LEFT - RIGHT) / n
  const barW = Math.max(2, slot * 0.7)
  const max = niceMax(Math.max(0, ...options.values.map((v) => v.reduce((a, b) => a + b, 0))))
  const y = (value: number) => TOP + plotH - (value / max) * plotH
  const bars = options.labels.map((label, i) => {
    let base = 0
    const x = LEFT + i * slot + (slot - barW) / 2
    return options.series.map((series, s) => {
      const value = options.values[i]?.[s] ?? 0
      if (value <= 0) return null
      const top = y(base + value)
      const bottomY = y(base)
      base += value
      return html`<rect class="${series.tone}" x="${fmt(x)}" y="${fmt(top)}" width="${fmt(barW)}" height="${fmt(bottomY - top)}"><title>${label}: ${value} ${series.label}</title></rect>`
    })
  })
  const ticks = options.labels.map((label, i) => options.tick(i)
    ? html`<text x="${fmt(LEFT + i * slot + slot / 2)}" y="${height - 6}" text-anchor="middle">${label}</text>`
    : null)
  return html`<svg class="chart" viewBox="0 0 ${WIDTH} ${height}" role="img" aria-labelledby="${options.id}-title ${options.id}-desc" focusable="false">
<title id="${options.id}-title">${options.title}</title>
<desc id="${options.id}-desc">${options.description}</desc>
<line class="axis" x1="${LEFT}" y1="${fmt(y(max))}" x2="${WIDTH - RIGHT}" y2="${fmt(y(max))}"/>
<line class="axis" x1="${LEFT}" y1="${fmt(y(max / 2))}" x2="${WIDTH - RIGHT}" y2="${fmt(y(max / 2))}"/>
<line class="axis" x1="${LEFT}" y1="${fmt(y(0))}" x2="${WIDTH - RIGHT}" y2="${fmt(y(0))}"/>
<text x="${LEFT - 6}" y="${fmt(y(max) + 4)}" text-anchor="end">${max}</text>
${Number.isInteger(max / 2) ? html`<text x="${LEFT - 6}" y="${fmt(y(max / 2) + 4)}" text-anchor="end">${max / 2}</text>` : null}
<text x="${LEFT - 6}" y="${fmt(y(0) + 4)}" text-anchor="end">0</text>
${bars}
${ticks}
</svg>`
}

/** Horizontal bars, one per row, its label on the left and its value after the bar. */
export const horizontalBars = (options: {
  readonly id: string
  readonly title: string
  readonly description: string
  readonly rows: ReadonlyArray<{ readonly label: string; readonly value: number; readonly tone: Series["tone"] }>
}): Html => {
  const rowH = 24
  const labelW = 130
  const valueW = 36
  const height = TOP + options.rows.length * rowH + 8
  const max = niceMax(Math.max(0, ...options.rows.map((r) => r.value)))
  const plotW = WIDTH - labelW - valueW
  const bars = options.rows.map((row, i) => {
    const top = TOP + i * rowH
    const w = (row.value / max) * plotW
    return html`<text x="${labelW - 8}" y="${top + 15}" text-anchor="end">${row.label}</text>
${row.value > 0 ? html`<rect class="${row.tone}" x="${labelW}" y="${top + 4}" width="${fmt(w)}" height="${rowH - 8}"><title>${row.label}: ${row.value}</title></rect>` : null}
<text x="${fmt(labelW + w + 6)}" y="${top + 15}">${row.value}</text>`
  })
  return html`<svg class="chart" viewBox="0 0 ${WIDTH} ${height}" role="img" aria-labelledby="${options.id}-title ${options.id}-desc" focusable="false">
<title id="${options.id}-title">${options.title}</title>
<desc id="${options.id}-desc">${options.description}</desc>
<line class="axis" x1="${labelW}" y1="${TOP}" x2="${labelW}" y2="${height - 8}"/>
${bars}
</svg>`
}

/** The chart's key: a swatch and a label per series. */
export const legend = (series: ReadonlyArray<Series>): Html =>
  html`<ul class="legend">${series.map((s) => html`<li><span class="swatch ${s.tone}" aria-hidden="true"></span>${s.label}</li>`)}</ul>`
