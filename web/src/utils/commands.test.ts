import { describe, expect, it } from 'vitest'
import { commandBody, commandErrors, commandSpec, initialValues, offered } from './commands'

const spec = (t: string) => {
  const s = commandSpec(t)
  if (!s) throw new Error(`no form for ${t}`)
  return s
}

describe('command forms', () => {
  it('offers exactly the allowed commands, in a stable order', () => {
    expect(offered(['reply', 'accept', 'no_such_thing']).map((c) => c.type)).toEqual(['accept', 'reply'])
    expect(offered(undefined)).toEqual([])
  })
  it('refuses a reply without text, and asks why when it cannot be resolved', () => {
    const s = spec('reply')
    const v = initialValues(s)
    expect(v.outcome).toBe('resolved')
    expect(commandErrors(s, v)).toEqual({ text: 'text_required' })
    v.text = '已更换井盖，恢复通行。'
    expect(commandErrors(s, v)).toEqual({})
    v.outcome = 'unresolvable'
    expect(commandErrors(s, v)).toEqual({ reason: 'text_required' })
  })
  it('needs a unit to dispatch', () => {
    const s = spec('dispatch')
    expect(commandErrors(s, initialValues(s)).unit).toBe('choose_unit')
    expect(commandErrors(s, { ...initialValues(s), unit: '420381D01' })).toEqual({})
  })
  it('needs departments to whistle', () => {
    const s = spec('whistle')
    expect(commandErrors(s, initialValues(s))).toMatchObject({ units: 'choose_unit', lead: 'choose_unit' })
  })
  it('holds an extension to whole working days', () => {
    const s = spec('request_extension')
    expect(commandErrors(s, { ...initialValues(s), working_days: 45, reason: '需协调多个部门' })).toEqual({ working_days: 'days_range' })
  })
  it('a rejection needs a comment, an approval does not', () => {
    const s = spec('review')
    expect(commandErrors(s, initialValues(s))).toEqual({})
    expect(commandErrors(s, { ...initialValues(s), decision: 'reject' })).toEqual({ comment: 'text_required' })
  })
})

describe('command bodies', () => {
  it('sends the type and the filled fields, trimmed, without empty optional ones', () => {
    const s = spec('dispatch')
    expect(commandBody(s, { unit: '420381D01', co_units: [], note: '  ' })).toEqual({ type: 'dispatch', unit: '420381D01' })
    expect(commandBody(s, { unit: 'A', co_units: ['B'], note: ' 请协办 ' })).toEqual({ type: 'dispatch', unit: 'A', co_units: ['B'], note: '请协办' })
  })
  it('sends numbers and booleans as such', () => {
    expect(commandBody(spec('request_extension'), { working_days: '5', reason: '待检测报告' })).toEqual({ type: 'request_extension', working_days: 5, reason: '待检测报告' })
  })
  it('asks about fault only when the reporter is unsatisfied', () => {
    const s = spec('callback')
    expect(commandBody(s, { ...initialValues(s), satisfaction: 'satisfied' })).not.toHaveProperty('unit_at_fault')
    expect(commandBody(s, { ...initialValues(s), satisfaction: 'unsatisfied', unit_at_fault: false })).toMatchObject({ unit_at_fault: false, resolved: true })
  })
  it('sends a supervision due moment as an instant', () => {
    const b = commandBody(spec('supervise'), { level: 'key', note: '三日内办结', due: '2026-12-10T18:00:00+08:00' })
    expect(b.due).toBe('2026-12-10T10:00:00.000Z')
  })
})
