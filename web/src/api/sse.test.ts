import { describe, expect, it } from 'vitest'
import { backoffMs, followStream, parseFrames, type SseFrame } from './sse'

describe('parsing the stream', () => {
  it('splits complete frames and keeps the rest for the next chunk', () => {
    const { frames, rest } = parseFrames('id: 5\nevent: case\ndata: {"a":1}\n\n: ping\n\nid: 6\nda')
    expect(frames).toEqual([{ id: '5', event: 'case', data: '{"a":1}' }])
    expect(rest).toBe('id: 6\nda')
    const more = parseFrames(rest + 'ta: x\n\n')
    expect(more.frames).toEqual([{ id: '6', event: 'message', data: 'x' }])
  })
  it('reads CRLF line ends, multi-line data and ignores unknown fields and comments', () => {
    const { frames } = parseFrames('retry: 10\r\ndata: one\r\ndata:two\r\nfoo: bar\r\n\r\n:comment only\r\n\r\n')
    expect(frames).toEqual([{ id: undefined, event: 'message', data: 'one\ntwo' }])
  })
})

// A stream body that yields the given chunks, then ends.
function body(...chunks: string[]) {
  const enc = new TextEncoder()
  return new ReadableStream<Uint8Array>({
    start(c) {
      for (const ch of chunks) c.enqueue(enc.encode(ch))
      c.close()
    },
  })
}

describe('following the stream', () => {
  it('reconnects with backoff and resumes from the last seen id', async () => {
    const seen: (string | null)[] = []
    const answers: (() => Response)[] = [
      () => new Response(body('id: 5\nevent: case\ndata: a\n\n', 'id: 6\nevent: case\ndata: b\n\n'), { status: 200 }),
      () => {
        throw new TypeError('network down')
      },
      () => new Response('busy', { status: 503 }),
      () => new Response(body('id: 7\nevent: case\ndata: c\n\n'), { status: 200 }),
      () => new Response('', { status: 401 }),
    ]
    const fetchImpl = (async (_url: string, init: RequestInit) => {
      const h = init.headers as Record<string, string>
      seen.push(h['last-event-id'] ?? null)
      expect(h['authorization']).toBe('Bearer tok')
      return answers.shift()!()
    }) as unknown as typeof fetch
    const sleeps: number[] = []
    const frames: SseFrame[] = []
    const states: string[] = []
    const done = new Promise<void>((resolve) => {
      followStream({
        url: '/api/v1/events/stream',
        token: () => 'tok',
        fetchImpl,
        sleep: async (ms) => void sleeps.push(ms),
        onFrame: (f) => frames.push(f),
        onState: (s) => states.push(s),
        onUnauthorized: resolve,
      })
    })
    await done
    expect(frames.map((f) => f.data)).toEqual(['a', 'b', 'c'])
    expect(seen).toEqual([null, '6', '6', '6', '7'])
    // Backoff doubles while it fails and starts again after a good connection.
    expect(sleeps).toEqual([1000, 2000, 4000, 1000])
    expect(states).toEqual(['open', 'retrying', 'retrying', 'retrying', 'open', 'retrying', 'closed'])
  })

  it('gives up quietly where the server has no stream', async () => {
    const states: string[] = []
    const fetchImpl = (async () => new Response('', { status: 404 })) as unknown as typeof fetch
    await new Promise<void>((resolve) => {
      followStream({ url: '/x', token: () => null, fetchImpl, onFrame: () => {}, onState: (s) => (states.push(s), s === 'unavailable' && resolve()) })
    })
    expect(states).toEqual(['unavailable'])
  })

  it('stops reconnecting once stopped', async () => {
    let calls = 0
    let stop = () => {}
    const fetchImpl = (async () => {
      calls++
      return new Response(body(''), { status: 200 })
    }) as unknown as typeof fetch
    await new Promise<void>((resolve) => {
      const s = followStream({
        url: '/x',
        token: () => null,
        fetchImpl,
        onFrame: () => {},
        sleep: async () => {
          stop()
          resolve()
        },
      })
      stop = s.stop
    })
    await new Promise((r) => setTimeout(r, 10))
    expect(calls).toBe(1)
  })

  it('waits at most 30 seconds between attempts', () => {
    expect(backoffMs(0)).toBe(1000)
    expect(backoffMs(3)).toBe(8000)
    expect(backoffMs(20)).toBe(30_000)
  })
})
