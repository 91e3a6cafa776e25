// The worklist, the dispatcher's queue and the alarm list refresh from the live stream; when the
// stream is not there (404) they fall back to a quiet poll.
import { onBeforeUnmount, onMounted, ref } from 'vue'
import { followStream } from './sse'
import { getToken } from './http'

export function useLive(refresh: () => void, pollMs = 30_000) {
  const state = ref<'open' | 'retrying' | 'closed' | 'unavailable' | 'connecting'>('connecting')
  let timer: ReturnType<typeof setTimeout> | undefined
  let poll: ReturnType<typeof setInterval> | undefined
  let stream: { stop: () => void } | undefined
  const soon = () => {
    clearTimeout(timer)
    timer = setTimeout(refresh, 300)
  }
  onMounted(() => {
    stream = followStream({
      url: '/api/v1/events/stream',
      token: getToken,
      onFrame: (f) => {
        if (f.event === 'case') soon()
      },
      onState: (s) => {
        state.value = s
        if (s === 'unavailable' && !poll) poll = setInterval(refresh, pollMs)
      },
    })
  })
  onBeforeUnmount(() => {
    stream?.stop()
    clearTimeout(timer)
    clearInterval(poll)
  })
  return { state }
}
