import { createRouter, createWebHistory } from 'vue-router'
import { pages, homeFor, allowed, type PageMeta } from './routes'
import { loadMe, roles, session } from '../stores/session'
import { getToken, setExpiredHandler, setToken } from '../api/http'

export const router = createRouter({
  history: createWebHistory(),
  routes: [
    ...pages,
    { path: '/', redirect: () => (getToken() ? homeFor(roles()) : '/login') },
    { path: '/:rest(.*)*', redirect: '/' },
  ],
})

router.beforeEach(async (to) => {
  const meta = to.meta as unknown as PageMeta
  if (meta.public) return true
  if (!getToken()) return { path: '/login', query: { redirect: to.fullPath } }
  try {
    await loadMe()
  } catch {
    setToken(null)
    return { path: '/login', query: { expired: '1' } }
  }
  // A password someone else set (the first admin's, a new user's, a reset) is changed first.
  if (session.me?.must_change_password && to.name !== 'password') return { name: 'password' }
  if (!allowed(meta, roles())) return homeFor(roles())
  return true
})

setExpiredHandler(() => {
  setToken(null)
  session.me = null
  const here = router.currentRoute.value
  if (here.name !== 'login') void router.replace({ path: '/login', query: { expired: '1', redirect: here.fullPath } })
})
