import { describe, expect, it } from 'vitest'
import { countdownText, deadlineColour, nextDue } from './deadline'

const H = 3600_000
const D = 24 * H
const now = Date.parse('2026-12-03T09:00:00+08:00')

describe('deadline colours', () => {
  it('is green with plenty of time left', () => {
    expect(deadlineColour(now + 5 * D, now, now - 10 * D)).toBe('green')
  })
  it('turns yellow in the last 24 hours', () => {
    expect(deadlineColour(now + 23 * H, now)).toBe('yellow')
    expect(deadlineColour(now + 25 * H, now)).toBe('green')
  })
  it('turns yellow in the last fifth of a long span, even days before', () => {
    // 15 working days span ~ 21 days; 3 days left is under a fifth.
    expect(deadlineColour(now + 3 * D, now, now - 18 * D)).toBe('yellow')
    expect(deadlineColour(now + 5 * D, now, now - 16 * D)).toBe('green')
  })
  it('turns red at the deadline and after', () => {
    expect(deadlineColour(now, now)).toBe('red')
    expect(deadlineColour(now - 1, now)).toBe('red')
  })
  it('has no colour without a deadline', () => {
    expect(deadlineColour(null, now)).toBe('none')
    expect(deadlineColour(Number.NaN, now)).toBe('none')
  })
  it('ignores a start after the due moment', () => {
    expect(deadlineColour(now + 2 * D, now, now + 3 * D)).toBe('green')
  })
})

describe('countdown text', () => {
  it('reads days and hours, hours and minutes, minutes', () => {
    expect(countdownText(now + 3 * D + 4 * H + 5 * 60_000, now)).toBe('剩3天4小时')
    expect(countdownText(now + 2 * H + 15 * 60_000, now)).toBe('剩2小时15分')
    expect(countdownText(now + 59 * 60_000, now)).toBe('剩59分钟')
  })
  it('says how long overdue', () => {
    expect(countdownText(now - (D + 2 * H), now)).toBe('已超期1天2小时')
    expect(countdownText(now - (D + 2 * H), now, true)).toBe('overdue 1d 2h')
  })
  it('speaks English on request', () => {
    expect(countdownText(now + 2 * H + 15 * 60_000, now, true)).toBe('2h 15m left')
  })
})

describe('the deadline that matters', () => {
  const deadlines = { accept_due: 'A', contact_due: 'C', resolve_due: 'R' }
  it('follows the state', () => {
    expect(nextDue({ state: 'dispatched', deadlines })).toBe('A')
    expect(nextDue({ state: 'accepted', deadlines })).toBe('C')
    expect(nextDue({ state: 'in_progress', deadlines })).toBe('R')
    expect(nextDue({ state: 'awaiting_callback', deadlines })).toBe('R')
    expect(nextDue({ state: 'closed', deadlines })).toBeNull()
    expect(nextDue({ state: 'received', deadlines: null })).toBeNull()
  })
})
