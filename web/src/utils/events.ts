// Chinese and English names of the trail's events.
export const EVENT_NAMES: Record<string, [string, string]> = {
  received: ['受理', 'Received'], answered_directly: ['直接答复', 'Answered directly'], dispatched: ['派单', 'Dispatched'],
  redispatched: ['转派', 'Passed down'], accepted: ['签收', 'Accepted'], returned: ['退回', 'Returned'],
  contacted: ['联系诉求人', 'Contacted'], replied: ['办理反馈', 'Replied'], reply_approved: ['审核通过', 'Reply approved'],
  reply_rejected: ['退回重办', 'Reply rejected'], callback_recorded: ['回访', 'Callback'], callback_attempted: ['回访未接通', 'Callback attempt'],
  closed: ['办结', 'Closed'], reopened: ['重办', 'Reopened'], extension_requested: ['申请延期', 'Extension requested'],
  extension_approved: ['批准延期', 'Extension approved'], extension_denied: ['驳回延期', 'Extension denied'],
  suspended: ['挂起', 'Suspended'], resumed: ['恢复', 'Resumed'], merged: ['并单', 'Merged'], annotated: ['批注', 'Annotated'],
  attachment_added: ['上传附件', 'Attachment added'], deadlines_recomputed: ['时限重算', 'Deadlines recomputed'],
  whistled: ['吹哨', 'Whistled'], reported_in: ['报到', 'Reported in'], part_recorded: ['提交办理情况', 'Part recorded'],
  supervised: ['督办', 'Supervised'], reminded: ['催办', 'Reminded'], deadline_warning: ['临期预警', 'Deadline warning'],
  deadline_missed: ['超期', 'Deadline missed'], yellow_card: ['黄牌', 'Yellow card'], red_card: ['红牌', 'Red card'],
  card_appealed: ['申诉', 'Card appealed'], card_upheld: ['维持', 'Card upheld'], card_revoked: ['撤销', 'Card revoked'],
}

import { COMMANDS } from './commands'

const FIELDS: [string, string, string][] = [
  ['title', '标题', 'Title'], ['unit', '单位', 'Unit'], ['reason', '原因', 'Reason'], ['note', '备注', 'Note'],
  ['text', '内容', 'Text'], ['answer', '答复', 'Answer'], ['comment', '意见', 'Comment'], ['outcome', '结果', 'Outcome'],
  ['satisfaction', '满意度', 'Satisfaction'], ['name', '文件', 'File'], ['level', '级别', 'Level'], ['card', '牌', 'Card'],
  ['decision', '裁决', 'Decision'], ['working_days', '工作日', 'Working days'], ['into', '主工单', 'Into'], ['deadline', '时限', 'Deadline'],
]

// Coded values (outcome, satisfaction, level, decision) read as the words of the forms that chose them.
const VALUES = new Map<string, [string, string]>()
for (const c of COMMANDS) for (const f of c.fields) for (const o of f.options ?? []) VALUES.set(`${f.name}:${o.value}`, o.label)

export interface SummaryOptions {
  en?: boolean
  unitName?: (id: string) => string | undefined
}

/** A short summary of an event's data: the fields people read, not the whole record. */
export function summarize(data: Record<string, any> | null | undefined, o: SummaryOptions = {}): string {
  if (!data) return ''
  const en = !!o.en
  const sep = en ? ': ' : '：'
  const unit = (id: string) => o.unitName?.(id) ?? id
  const parts: string[] = []
  if (data.draft?.title) parts.push(`${en ? 'Title' : '标题'}${sep}${data.draft.title}`)
  for (const [k, zh, enLabel] of FIELDS) {
    const v = data[k]
    if (v === undefined || v === null || v === '' || typeof v === 'object') continue
    const label = VALUES.get(`${k}:${v}`)
    const shown = k === 'unit' ? unit(String(v)) : label ? label[en ? 1 : 0] : String(v)
    parts.push(`${en ? enLabel : zh}${sep}${shown}`)
  }
  if (Array.isArray(data.units) && data.units.length) parts.push(`${en ? 'Units' : '单位'}${sep}${data.units.map(unit).join(en ? ', ' : '、')}`)
  return parts.join(en ? '; ' : '；').slice(0, 300)
}
