// Form rules shared by the intake, the patrol report and the command dialogs.

export const MOBILE = /^1[3-9]\d{9}$/
export const LANDLINE = /^0\d{2,3}-?\d{7,8}$/

export function phoneError(phone: string, required = false): string | null {
  const p = phone.trim()
  if (!p) return required ? 'phone_required' : null
  if (MOBILE.test(p) || LANDLINE.test(p) || p === '12345') return null
  return 'phone_invalid'
}

export function titleError(title: string): string | null {
  const n = [...title.trim()].length
  if (n === 0) return 'title_required'
  if (n < 4) return 'title_short'
  if (n > 100) return 'title_long'
  return null
}

export function textError(text: string | undefined, min = 1, max = 2000): string | null {
  const n = [...(text ?? '').trim()].length
  if (n === 0) return 'text_required'
  if (n < min) return 'text_short'
  if (n > max) return 'text_long'
  return null
}

export function locationError(lon: number | null | undefined, lat: number | null | undefined): string | null {
  const hasLon = lon !== null && lon !== undefined && `${lon}` !== ''
  const hasLat = lat !== null && lat !== undefined && `${lat}` !== ''
  if (!hasLon && !hasLat) return null
  if (hasLon !== hasLat) return 'location_pair'
  if (!(Number(lon) >= 73 && Number(lon) <= 136 && Number(lat) >= 3 && Number(lat) <= 54)) return 'location_range'
  return null
}

export function workingDaysError(n: number | null | undefined): string | null {
  if (n === null || n === undefined || !Number.isInteger(n)) return 'days_required'
  if (n < 1 || n > 30) return 'days_range'
  return null
}

/** A key per form: a double click or a retry sends the same one, so one case is made. */
export function newIdempotencyKey(): string {
  const c = globalThis.crypto as Crypto | undefined
  if (c && 'randomUUID' in c) return c.randomUUID()
  return `k-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 12)}`
}
