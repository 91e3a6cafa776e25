import { api, getToken } from './http'

// The org tree changes rarely; one fetch per signed-in session serves every picker and label.
let cached: { token: string | null; items: Promise<any[]> } | null = null

export function allUnits(): Promise<any[]> {
  const token = getToken()
  if (!cached || cached.token !== token) {
    const items = api('/api/v1/units').then((r) => r.items as any[])
    items.catch(() => (cached = null))
    cached = { token, items }
  }
  return cached.items
}

/** Forgets the cached tree (after an administrator changed it). */
export function refreshUnits(): Promise<any[]> {
  cached = null
  return allUnits()
}

/** Unit code → name, for labels such as the trail's "单位：…". */
export async function unitNames(): Promise<Map<string, string>> {
  return new Map((await allUnits()).map((u) => [u.id, u.name]))
}
