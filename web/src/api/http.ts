import { isEn } from '../i18n'
// The one way the console talks to the API: bearer token, problem+json errors as ApiProblem.

export interface ApiProblem {
  status: number
  code: string
  title: string
  title_en: string
  detail?: string
  field?: string
  retryAfter?: number
}

export class ApiError extends Error {
  problem: ApiProblem
  constructor(problem: ApiProblem) {
    super(problem.title || problem.code)
    this.problem = problem
  }
}

/** An error as the user reads it: the problem's title in the console's language, with the
 * server's detail when `detail` (what was wrong: a field, a limit). */
export function problemText(e: unknown, detail = true): string {
  if (!(e instanceof ApiError)) return String(e)
  const title = isEn() ? e.problem.title_en : e.problem.title
  return detail && e.problem.detail ? `${title}：${e.problem.detail}` : title
}

const TOKEN_KEY = 'jiesu.token'

export function getToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY)
}
export function setToken(t: string | null) {
  if (t) sessionStorage.setItem(TOKEN_KEY, t)
  else sessionStorage.removeItem(TOKEN_KEY)
}

/** Called on a 401 outside sign-in: the session ended (expired, or signed out elsewhere). */
let onExpired: () => void = () => {}
export function setExpiredHandler(f: () => void) {
  onExpired = f
}

async function toProblem(res: Response): Promise<ApiProblem> {
  let body: Record<string, unknown> = {}
  try {
    body = await res.json()
  } catch {
    /* not JSON: keep the status */
  }
  const retry = Number(res.headers.get('retry-after'))
  return {
    status: res.status,
    code: String(body.code ?? 'http_' + res.status),
    title: String(body.title ?? `请求失败（${res.status}）`),
    title_en: String(body.title_en ?? `Request failed (${res.status})`),
    detail: body.detail as string | undefined,
    field: body.field as string | undefined,
    retryAfter: Number.isFinite(retry) && retry > 0 ? retry : undefined,
  }
}

export interface RequestOptions {
  method?: string
  body?: unknown
  headers?: Record<string, string>
  /** Don't treat a 401 as an ended session (sign-in itself, public pages). */
  anonymous?: boolean
}

export async function raw(path: string, opts: RequestOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) }
  const token = getToken()
  if (token && !opts.anonymous) headers['authorization'] = `Bearer ${token}`
  let body: BodyInit | undefined
  if (opts.body instanceof FormData) {
    body = opts.body
  } else if (opts.body !== undefined) {
    headers['content-type'] = 'application/json'
    body = JSON.stringify(opts.body)
  }
  const res = await fetch(path, { method: opts.method ?? (body ? 'POST' : 'GET'), headers, body })
  if (!res.ok) {
    const p = await toProblem(res)
    if (p.status === 401 && !opts.anonymous) onExpired()
    throw new ApiError(p)
  }
  return res
}

export async function api<T = any>(path: string, opts: RequestOptions = {}): Promise<T> {
  const res = await raw(path, opts)
  if (res.status === 204) return undefined as T
  return (await res.json()) as T
}

/** Downloads a response as a file with the server's name (Content-Disposition). */
export async function download(path: string, fallback: string) {
  const res = await raw(path)
  const blob = await res.blob()
  const cd = res.headers.get('content-disposition') ?? ''
  const m = /filename\*=UTF-8''([^;]+)/.exec(cd)
  const name = m ? decodeURIComponent(m[1]) : fallback
  const a = document.createElement('a')
  a.href = URL.createObjectURL(blob)
  a.download = name
  a.click()
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000)
}

/** An object URL for a protected file (images need the bearer header, so no plain <img src>). */
export async function blobUrl(path: string): Promise<string> {
  const res = await raw(path)
  return URL.createObjectURL(await res.blob())
}

export function isNotAvailable(e: unknown): boolean {
  return e instanceof ApiError && (e.problem.code === 'not_found' || e.problem.status === 405)
}
