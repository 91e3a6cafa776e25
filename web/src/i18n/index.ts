import { createI18n } from 'vue-i18n'
import zh from './zh-CN'
import en from './en'

const saved = localStorage.getItem('jiesu.locale')
export const i18n = createI18n({
  legacy: false,
  locale: saved === 'en' ? 'en' : 'zh-CN',
  fallbackLocale: 'zh-CN',
  messages: { 'zh-CN': zh, en },
})

export function setLocale(l: 'zh-CN' | 'en') {
  i18n.global.locale.value = l
  localStorage.setItem('jiesu.locale', l)
  document.documentElement.lang = l
}

/** Picks the label of a [zh, en] pair for the current locale. */
export function pick(pair: [string, string]): string {
  return i18n.global.locale.value === 'en' ? pair[1] : pair[0]
}
export function isEn(): boolean {
  return i18n.global.locale.value === 'en'
}
