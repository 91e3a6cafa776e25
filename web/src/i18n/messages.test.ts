import { describe, expect, it } from 'vitest'
import zh from './zh-CN'
import en from './en'

// Every label exists in both languages: a key missing from one shows its raw path to the user.
const keys = (o: any, p = ''): string[] =>
  Object.entries(o).flatMap(([k, v]) => (v && typeof v === 'object' ? keys(v, `${p}${k}.`) : [`${p}${k}`]))

describe('messages', () => {
  it('zh-CN and en have the same keys', () => {
    expect(keys(en).sort()).toEqual(keys(zh).sort())
  })
  it('no label is empty', () => {
    const empty = (o: any) => keys(o).filter((k) => k.split('.').reduce((a: any, s) => a[s], o) === '')
    expect(empty(zh)).toEqual([])
    expect(empty(en)).toEqual([])
  })
})
