import { afterEach, describe, expect, it, vi } from 'vitest'
import { createApp, h, nextTick } from 'vue'
import { i18n } from '../i18n'
import DeadlineCountdown from './DeadlineCountdown.vue'

// Mounts the countdown as the workbench does and reads what a dispatcher sees.
function mount(props: Record<string, unknown>) {
  const el = document.createElement('div')
  document.body.appendChild(el)
  const app = createApp({ render: () => h(DeadlineCountdown, props) })
  app.use(i18n)
  app.mount(el)
  return { el: el.firstElementChild as HTMLElement, unmount: () => app.unmount() }
}

afterEach(() => vi.useRealTimers())

describe('the countdown on the workbench', () => {
  it('shows time left in green, then yellow, then red as the clock runs', async () => {
    vi.useFakeTimers()
    vi.setSystemTime(Date.parse('2026-12-03T09:00:00+08:00'))
    const { el, unmount } = mount({ due: '2026-12-05T09:00:00+08:00' })
    expect(el.dataset.colour).toBe('green')
    expect(el.textContent).toBe('剩2天0小时')
    vi.setSystemTime(Date.parse('2026-12-04T12:00:00+08:00'))
    vi.advanceTimersByTime(30_000)
    await nextTick()
    expect(el.dataset.colour).toBe('yellow')
    expect(el.textContent).toBe('剩20小时59分')
    vi.setSystemTime(Date.parse('2026-12-05T10:00:00+08:00'))
    vi.advanceTimersByTime(30_000)
    await nextTick()
    expect(el.dataset.colour).toBe('red')
    expect(el.textContent).toMatch(/^已超期/)
    unmount()
  })
  it('has no colour while the case is suspended', () => {
    const { el, unmount } = mount({ due: '2020-01-01T00:00:00Z', stopped: true })
    expect(el.dataset.colour).toBe('none')
    unmount()
  })
  it('shows a dash without a deadline', () => {
    const { el, unmount } = mount({ due: null })
    expect(el.textContent).toBe('—')
    unmount()
  })
})
