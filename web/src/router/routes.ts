// Every page: one entry. `roles`: who sees it in the menu and may open it (none: every signed-in
// user). `layout: 'h5'` pages are the mobile ones.
import type { RouteRecordRaw } from 'vue-router'

export interface PageMeta {
  title: string
  icon?: string
  roles?: string[]
  menu?: boolean
  layout?: 'main' | 'h5' | 'bare'
  public?: boolean
}

const STAFF = ['operator', 'dispatcher', 'handler', 'grid_worker', 'cadre', 'leader', 'inspector']

export const pages: (RouteRecordRaw & { meta: PageMeta })[] = [
  { path: '/workbench', name: 'workbench', component: () => import('../views/Workbench.vue'), meta: { title: 'menu.workbench', icon: '▦', roles: STAFF, menu: true } },
  { path: '/intake', name: 'intake', component: () => import('../views/Intake.vue'), meta: { title: 'menu.intake', icon: '✎', roles: ['operator', 'dispatcher'], menu: true } },
  { path: '/dispatch', name: 'dispatch', component: () => import('../views/DispatchQueue.vue'), meta: { title: 'menu.dispatch', icon: '⇢', roles: ['dispatcher'], menu: true } },
  { path: '/cases', name: 'cases', component: () => import('../views/CaseList.vue'), meta: { title: 'menu.cases', icon: '☰', roles: [...STAFF, 'citizen'], menu: true } },
  { path: '/callbacks', name: 'callbacks', component: () => import('../views/Callbacks.vue'), meta: { title: 'menu.callbacks', icon: '☎', roles: ['operator', 'dispatcher'], menu: true } },
  { path: '/supervision', name: 'supervision', component: () => import('../views/SupervisionBoard.vue'), meta: { title: 'menu.supervision', icon: '⚑', roles: ['leader', 'inspector', 'dispatcher'], menu: true } },
  { path: '/assessment', name: 'assessment', component: () => import('../views/AssessmentBoard.vue'), meta: { title: 'menu.assessment', icon: '▲', roles: ['leader', 'inspector', 'dispatcher', 'admin'], menu: true } },
  { path: '/monitoring', name: 'monitoring', component: () => import('../views/Monitoring.vue'), meta: { title: 'menu.monitoring', icon: '≈', roles: STAFF, menu: true } },
  { path: '/map', name: 'map', component: () => import('../views/GridMap.vue'), meta: { title: 'menu.map', icon: '⌗', roles: STAFF, menu: true } },
  { path: '/admin', name: 'admin', component: () => import('../views/Admin.vue'), meta: { title: 'menu.admin', icon: '⚙', roles: ['admin', 'inspector'], menu: true } },
  { path: '/search', name: 'search', component: () => import('../views/Search.vue'), meta: { title: 'menu.search', roles: [...STAFF, 'citizen'] } },
  { path: '/cases/:id', name: 'case', component: () => import('../views/CaseDetail.vue'), meta: { title: 'menu.case', roles: [...STAFF, 'citizen'] } },
  { path: '/h5/report', name: 'h5report', component: () => import('../views/h5/Report.vue'), meta: { title: 'menu.h5report', layout: 'h5', roles: ['citizen'] } },
  { path: '/h5/track', name: 'h5track', component: () => import('../views/h5/Track.vue'), meta: { title: 'menu.h5track', layout: 'h5', public: true } },
  { path: '/h5/patrol', name: 'h5patrol', component: () => import('../views/h5/Patrol.vue'), meta: { title: 'menu.h5patrol', layout: 'h5', roles: ['grid_worker'] } },
  { path: '/h5/my-grid', name: 'h5grid', component: () => import('../views/h5/MyGrid.vue'), meta: { title: 'menu.h5grid', layout: 'h5', roles: ['grid_worker'] } },
  { path: '/password', name: 'password', component: () => import('../views/ChangePassword.vue'), meta: { title: 'password.title', layout: 'bare' } },
  { path: '/login', name: 'login', component: () => import('../views/Login.vue'), meta: { title: 'login.title', layout: 'bare', public: true } },
]

/** Where a user lands after signing in. */
export function homeFor(roles: string[]): string {
  if (roles.includes('citizen') && roles.length === 1) return '/cases'
  if (roles.includes('admin') && roles.length === 1) return '/admin'
  return '/workbench'
}

export function allowed(meta: PageMeta, roles: string[]): boolean {
  return !meta.roles || meta.roles.some((r) => roles.includes(r))
}
