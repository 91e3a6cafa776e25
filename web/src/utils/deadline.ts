// The colour of a deadline on the workbench: green while there is time, yellow when it is near,
// red once it has passed. "Near" is the last 20 % of the span, or the last 24 hours, whichever
// comes first, as a dispatcher reads a countdown.

export type DeadlineColour = 'green' | 'yellow' | 'red' | 'none'

const DAY_MS = 24 * 3600 * 1000

export function deadlineColour(dueMs: number | null, nowMs: number, startMs?: number | null): DeadlineColour {
  if (dueMs === null || !Number.isFinite(dueMs)) return 'none'
  const left = dueMs - nowMs
  if (left <= 0) return 'red'
  if (left <= DAY_MS) return 'yellow'
  if (startMs != null && Number.isFinite(startMs) && dueMs > startMs) {
    if (left <= (dueMs - startMs) * 0.2) return 'yellow'
  }
  return 'green'
}

/** "3天4小时", "2小时15分", "已超期1天2小时" (or English). */
export function countdownText(dueMs: number, nowMs: number, en = false): string {
  const left = dueMs - nowMs
  const abs = Math.abs(left)
  const d = Math.floor(abs / DAY_MS)
  const h = Math.floor((abs % DAY_MS) / 3600_000)
  const m = Math.floor((abs % 3600_000) / 60_000)
  const parts = en
    ? d > 0 ? `${d}d ${h}h` : h > 0 ? `${h}h ${m}m` : `${m}m`
    : d > 0 ? `${d}天${h}小时` : h > 0 ? `${h}小时${m}分` : `${m}分钟`
  if (left <= 0) return en ? `overdue ${parts}` : `已超期${parts}`
  return en ? `${parts} left` : `剩${parts}`
}

/** The next deadline that matters in this state. */
export function nextDue(c: { state: string; deadlines?: { accept_due: string; contact_due: string; resolve_due: string } | null }): string | null {
  const d = c.deadlines
  if (!d) return null
  if (c.state === 'dispatched') return d.accept_due
  if (c.state === 'accepted') return d.contact_due
  if (['in_progress', 'replied', 'awaiting_callback'].includes(c.state)) return d.resolve_due
  return null
}
