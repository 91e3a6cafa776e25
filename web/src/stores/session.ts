import { reactive } from 'vue'
import { api, getToken, setToken } from '../api/http'

export interface Grant { role: string; role_zh: string; unit: string; unit_name?: string }
export interface Me { id: string; username: string; display_name: string; grants: Grant[]; expires_at: string; must_change_password?: boolean }

export const session = reactive<{ me: Me | null }>({ me: null })

export function roles(): string[] {
  return [...new Set((session.me?.grants ?? []).map((g) => g.role))]
}
export function hasRole(...rs: string[]): boolean {
  return roles().some((r) => rs.includes(r))
}

export async function loadMe(): Promise<Me | null> {
  if (!getToken()) return null
  if (session.me) return session.me
  session.me = await api<Me>('/api/v1/auth/me')
  return session.me
}

export async function signIn(username: string, password: string) {
  const r = await api<{ token: string }>('/api/v1/auth/login', { body: { username, password }, anonymous: true })
  setToken(r.token)
  session.me = null
  return loadMe()
}

export async function signOut() {
  try {
    await api('/api/v1/auth/logout', { method: 'POST' })
  } catch {
    /* already ended */
  }
  setToken(null)
  session.me = null
}
