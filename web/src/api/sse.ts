// Server-sent events over fetch (EventSource cannot send an Authorization header): its own
// parser, Last-Event-ID on every reconnect, exponential backoff, and a stop on 401.

export interface SseFrame {
  id?: string
  event: string
  data: string
}

/** Splits a growing text buffer into complete frames; returns them and the unparsed rest. */
export function parseFrames(buffer: string): { frames: SseFrame[]; rest: string } {
  const frames: SseFrame[] = []
  const text = buffer.replace(/\r\n?/g, '\n')
  let start = 0
  for (;;) {
    const end = text.indexOf('\n\n', start)
    if (end < 0) break
    const block = text.slice(start, end)
    start = end + 2
    let id: string | undefined
    let event = 'message'
    const data: string[] = []
    let any = false
    for (const line of block.split('\n')) {
      if (line === '' || line.startsWith(':')) continue
      const colon = line.indexOf(':')
      const field = colon < 0 ? line : line.slice(0, colon)
      let value = colon < 0 ? '' : line.slice(colon + 1)
      if (value.startsWith(' ')) value = value.slice(1)
      if (field === 'id') id = value
      else if (field === 'event') event = value
      else if (field === 'data') data.push(value)
      else continue
      any = true
    }
    if (any) frames.push({ id, event, data: data.join('\n') })
  }
  return { frames, rest: text.slice(start) }
}

export function backoffMs(attempt: number): number {
  return Math.min(30_000, 1000 * 2 ** Math.max(0, attempt))
}

export interface StreamOptions {
  url: string
  token: () => string | null
  onFrame: (f: SseFrame) => void
  onUnauthorized?: () => void
  onState?: (s: 'open' | 'retrying' | 'closed' | 'unavailable') => void
  fetchImpl?: typeof fetch
  sleep?: (ms: number) => Promise<void>
}

/** Follows the stream until `stop()`. Resumes from the last frame's id after any drop. */
export function followStream(opts: StreamOptions): { stop: () => void; lastId: () => string | undefined } {
  const doFetch = opts.fetchImpl ?? fetch.bind(globalThis)
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)))
  let stopped = false
  let lastId: string | undefined
  let controller: AbortController | null = null
  const run = async () => {
    let attempt = 0
    while (!stopped) {
      controller = new AbortController()
      const headers: Record<string, string> = { accept: 'text/event-stream' }
      const t = opts.token()
      if (t) headers['authorization'] = `Bearer ${t}`
      if (lastId !== undefined) headers['last-event-id'] = lastId
      try {
        const res = await doFetch(opts.url, { headers, signal: controller.signal })
        if (res.status === 401) {
          opts.onState?.('closed')
          opts.onUnauthorized?.()
          return
        }
        if (res.status === 404) {
          opts.onState?.('unavailable')
          return
        }
        if (!res.ok || !res.body) throw new Error(`stream answered ${res.status}`)
        opts.onState?.('open')
        attempt = 0
        const reader = res.body.getReader()
        const decoder = new TextDecoder()
        let buffer = ''
        for (;;) {
          const { value, done } = await reader.read()
          if (done) break
          buffer += decoder.decode(value, { stream: true })
          const { frames, rest } = parseFrames(buffer)
          buffer = rest
          for (const f of frames) {
            if (f.id !== undefined) lastId = f.id
            opts.onFrame(f)
          }
        }
      } catch {
        if (stopped) return
      }
      if (stopped) return
      opts.onState?.('retrying')
      await sleep(backoffMs(attempt))
      attempt++
    }
  }
  void run()
  return {
    stop: () => {
      stopped = true
      controller?.abort()
    },
    lastId: () => lastId,
  }
}
