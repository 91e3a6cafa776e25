import { describe, expect, it } from 'vitest'
import { locationError, newIdempotencyKey, phoneError, textError, titleError, workingDaysError } from './validate'

describe('phone numbers', () => {
  it('takes mobiles, landlines with area code, and the hotline itself', () => {
    for (const p of ['13912345678', ' 18607191234 ', '0719-5212345', '071952123456', '12345']) expect(phoneError(p)).toBeNull()
  })
  it('refuses what cannot be called back', () => {
    for (const p of ['12345678', '1391234567', '23912345678', '139123456789', '0719-52', 'abc']) expect(phoneError(p)).toBe('phone_invalid')
  })
  it('may be left out unless required', () => {
    expect(phoneError('')).toBeNull()
    expect(phoneError('  ', true)).toBe('phone_required')
  })
})

describe('titles and texts', () => {
  it('counts characters, not bytes', () => {
    expect(titleError('井盖破损')).toBeNull()
    expect(titleError('井盖')).toBe('title_short')
    expect(titleError('   ')).toBe('title_required')
    expect(titleError('路'.repeat(100))).toBeNull()
    expect(titleError('路'.repeat(101))).toBe('title_long')
  })
  it('holds a reply to its minimum length', () => {
    expect(textError('', 5)).toBe('text_required')
    expect(textError('已处理', 5)).toBe('text_short')
    expect(textError('已更换井盖。', 5)).toBeNull()
    expect(textError('字'.repeat(2001))).toBe('text_long')
  })
})

describe('locations', () => {
  it('wants both coordinates or neither', () => {
    expect(locationError(null, null)).toBeNull()
    expect(locationError(111.5, null)).toBe('location_pair')
    expect(locationError(null, 32.5)).toBe('location_pair')
  })
  it('keeps points inside China', () => {
    expect(locationError(111.5089, 32.5405)).toBeNull()
    expect(locationError(32.5405, 111.5089)).toBe('location_range')
    expect(locationError(-111.5, 32.5)).toBe('location_range')
  })
})

describe('extensions and idempotency keys', () => {
  it('grants 1 to 30 whole working days', () => {
    expect(workingDaysError(3)).toBeNull()
    expect(workingDaysError(0)).toBe('days_range')
    expect(workingDaysError(31)).toBe('days_range')
    expect(workingDaysError(2.5)).toBe('days_required')
    expect(workingDaysError(null)).toBe('days_required')
  })
  it('makes a new key per form', () => {
    const a = newIdempotencyKey()
    const b = newIdempotencyKey()
    expect(a).not.toBe(b)
    expect(a.length).toBeGreaterThanOrEqual(16)
  })
})
