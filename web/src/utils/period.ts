// Assessment periods as the API names them: 2026-10 (month), 2026-Q3, 2026-W45, 2026.
export function monthOf(d: Date): string {
  const b = new Date(d.getTime() + 8 * 3600_000)
  return `${b.getUTCFullYear()}-${String(b.getUTCMonth() + 1).padStart(2, '0')}`
}
export function previousMonth(period: string, back = 1): string {
  const [y, m] = period.split('-').map(Number)
  const idx = y * 12 + (m - 1) - back
  return `${Math.floor(idx / 12)}-${String((idx % 12) + 1).padStart(2, '0')}`
}
export function quarterOf(month: string): string {
  const [y, m] = month.split('-').map(Number)
  return `${y}-Q${Math.floor((m - 1) / 3) + 1}`
}
/** ISO week of a Beijing day. */
export function isoWeekOf(d: Date): string {
  const b = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()))
  const day = b.getUTCDay() || 7
  b.setUTCDate(b.getUTCDate() + 4 - day)
  const y = b.getUTCFullYear()
  const w = Math.ceil(((b.getTime() - Date.UTC(y, 0, 1)) / 86400000 + 1) / 7)
  return `${y}-W${String(w).padStart(2, '0')}`
}
