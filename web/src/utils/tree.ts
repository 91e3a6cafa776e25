/** The flat category list as a tree for el-tree-select. */
export function categoryTree(items: { id: string; name: string; name_en?: string; parent: string | null }[], en = false) {
  const nodes = new Map<string, any>()
  for (const c of items) nodes.set(c.id, { value: c.id, label: en && c.name_en ? c.name_en : c.name, children: [] })
  const roots: any[] = []
  for (const c of items) {
    const n = nodes.get(c.id)
    const p = c.parent ? nodes.get(c.parent) : null
    if (p) p.children.push(n)
    else roots.push(n)
  }
  for (const n of nodes.values()) if (!n.children.length) delete n.children
  return roots
}
