// Every command a case page may offer, as data: its label and the fields of its form. The page
// shows the ones the server lists in `allowed_commands`; the dialog builds the form from here and
// checks it with `commandErrors` before sending.
import { textError, workingDaysError } from './validate'

export type FieldKind = 'text' | 'textarea' | 'select' | 'unit' | 'units' | 'days' | 'bool' | 'datetime' | 'card'

export interface FieldSpec {
  name: string
  label: [string, string]
  kind: FieldKind
  required?: boolean | ((v: Record<string, any>) => boolean)
  options?: { value: string | boolean; label: [string, string] }[]
  min?: number
  default?: unknown
}

export interface CommandSpec {
  type: string
  label: [string, string]
  tone?: 'primary' | 'success' | 'warning' | 'danger' | 'info'
  fields: FieldSpec[]
}

const reason = (label: [string, string] = ['原因', 'Reason']): FieldSpec => ({ name: 'reason', label, kind: 'textarea', required: true })
const note: FieldSpec = { name: 'note', label: ['备注', 'Note'], kind: 'textarea' }

export const COMMANDS: CommandSpec[] = [
  { type: 'dispatch', label: ['派单', 'Dispatch'], tone: 'primary', fields: [
    { name: 'unit', label: ['承办单位', 'Unit'], kind: 'unit', required: true },
    { name: 'co_units', label: ['协办单位', 'Co-units'], kind: 'units' }, note] },
  { type: 'answer_directly', label: ['直接答复', 'Answer directly'], fields: [
    { name: 'answer', label: ['答复内容', 'Answer'], kind: 'textarea', required: true, min: 5 }] },
  { type: 'accept', label: ['签收', 'Accept'], tone: 'primary', fields: [note] },
  { type: 'return', label: ['退回', 'Return'], tone: 'warning', fields: [reason(['退回理由', 'Reason'])] },
  { type: 'redispatch', label: ['转派', 'Pass down'], fields: [
    { name: 'unit', label: ['下级单位', 'Unit below'], kind: 'unit', required: true }, note] },
  { type: 'contact', label: ['联系诉求人', 'Contact reporter'], tone: 'primary', fields: [note] },
  { type: 'reply', label: ['办理反馈', 'Reply'], tone: 'success', fields: [
    { name: 'outcome', label: ['办理结果', 'Outcome'], kind: 'select', required: true, default: 'resolved', options: [
      { value: 'resolved', label: ['已解决', 'Resolved'] },
      { value: 'explained', label: ['已解释', 'Explained'] },
      { value: 'unresolvable', label: ['暂无法解决', 'Cannot be resolved'] }] },
    { name: 'text', label: ['反馈内容', 'Reply text'], kind: 'textarea', required: true, min: 5 },
    { name: 'reason', label: ['无法解决的原因', 'Why not'], kind: 'textarea', required: (v) => v.outcome === 'unresolvable' }] },
  { type: 'review', label: ['审核', 'Review'], tone: 'success', fields: [
    { name: 'decision', label: ['审核意见', 'Decision'], kind: 'select', required: true, default: 'approve', options: [
      { value: 'approve', label: ['通过', 'Approve'] }, { value: 'reject', label: ['退回重办', 'Reject'] }] },
    { name: 'comment', label: ['审核说明', 'Comment'], kind: 'textarea', required: (v) => v.decision === 'reject' }] },
  { type: 'callback', label: ['回访', 'Call back'], tone: 'success', fields: [
    { name: 'satisfaction', label: ['满意度', 'Satisfaction'], kind: 'select', required: true, default: 'satisfied', options: [
      { value: 'satisfied', label: ['满意', 'Satisfied'] },
      { value: 'basically_satisfied', label: ['基本满意', 'Basically satisfied'] },
      { value: 'unsatisfied', label: ['不满意', 'Unsatisfied'] },
      { value: 'unreachable', label: ['联系不上', 'Unreachable'] }] },
    { name: 'resolved', label: ['问题是否解决', 'Resolved?'], kind: 'bool', default: true },
    { name: 'unit_at_fault', label: ['承办单位责任', 'Unit at fault'], kind: 'bool', default: true },
    note] },
  { type: 'close', label: ['办结', 'Close'], tone: 'success', fields: [note] },
  { type: 'reopen', label: ['重办', 'Reopen'], tone: 'warning', fields: [reason()] },
  { type: 'request_extension', label: ['申请延期', 'Request extension'], fields: [
    { name: 'working_days', label: ['延期工作日', 'Working days'], kind: 'days', required: true, default: 3 }, reason()] },
  { type: 'approve_extension', label: ['批准延期', 'Approve extension'], tone: 'success', fields: [
    { name: 'comment', label: ['意见', 'Comment'], kind: 'textarea' }] },
  { type: 'deny_extension', label: ['驳回延期', 'Deny extension'], tone: 'warning', fields: [reason()] },
  { type: 'suspend', label: ['挂起', 'Suspend'], tone: 'warning', fields: [reason()] },
  { type: 'resume', label: ['恢复', 'Resume'], fields: [note] },
  { type: 'merge', label: ['并单', 'Merge'], tone: 'warning', fields: [
    { name: 'into', label: ['主工单编号', 'Master case number'], kind: 'text', required: true }] },
  { type: 'whistle', label: ['吹哨', 'Whistle'], tone: 'danger', fields: [
    { name: 'units', label: ['报到部门', 'Departments summoned'], kind: 'units', required: true },
    { name: 'lead', label: ['牵头单位', 'Lead unit'], kind: 'unit', required: true }, note] },
  { type: 'report_in', label: ['报到', 'Report in'], tone: 'primary', fields: [note] },
  { type: 'record_part', label: ['提交办理情况', 'Record our part'], fields: [
    { name: 'text', label: ['办理情况', 'What we did'], kind: 'textarea', required: true, min: 5 }] },
  { type: 'supervise', label: ['督办', 'Supervise'], tone: 'danger', fields: [
    { name: 'level', label: ['督办级别', 'Level'], kind: 'select', required: true, default: 'general', options: [
      { value: 'general', label: ['一般督办', 'General'] }, { value: 'key', label: ['重点督办', 'Key'] },
      { value: 'listed', label: ['挂牌督办', 'Listed'] }] },
    { name: 'note', label: ['督办意见', 'Instruction'], kind: 'textarea', required: true },
    { name: 'due', label: ['督办时限', 'Due'], kind: 'datetime' }] },
  { type: 'remind', label: ['催办', 'Remind'], tone: 'warning', fields: [
    { name: 'note', label: ['催办内容', 'Reminder'], kind: 'textarea', required: true }] },
  { type: 'appeal', label: ['申诉', 'Appeal a card'], tone: 'warning', fields: [
    { name: 'card', label: ['红黄牌', 'Card'], kind: 'card', required: true }, reason(['申诉理由', 'Grounds'])] },
  { type: 'decide_appeal', label: ['裁决申诉', 'Decide appeal'], fields: [
    { name: 'card', label: ['红黄牌', 'Card'], kind: 'card', required: true },
    { name: 'decision', label: ['裁决', 'Decision'], kind: 'select', required: true, default: 'uphold', options: [
      { value: 'uphold', label: ['维持', 'Uphold'] }, { value: 'revoke', label: ['撤销', 'Revoke'] }] },
    reason(['裁决理由', 'Reasons'])] },
  { type: 'annotate', label: ['添加批注', 'Annotate'], tone: 'info', fields: [
    { name: 'text', label: ['批注', 'Note'], kind: 'textarea', required: true }] },
]

export function commandSpec(type: string): CommandSpec | undefined {
  return COMMANDS.find((c) => c.type === type)
}

/** The offered commands, in the order of the table above. */
export function offered(allowed: string[] | undefined): CommandSpec[] {
  const set = new Set(allowed ?? [])
  return COMMANDS.filter((c) => set.has(c.type))
}

export function initialValues(spec: CommandSpec): Record<string, any> {
  const v: Record<string, any> = {}
  for (const f of spec.fields) v[f.name] = f.default ?? (f.kind === 'units' ? [] : f.kind === 'bool' ? false : '')
  return v
}

function isRequired(f: FieldSpec, v: Record<string, any>): boolean {
  return typeof f.required === 'function' ? f.required(v) : !!f.required
}

/** Field name → error key, for what the form must fix before sending. */
export function commandErrors(spec: CommandSpec, v: Record<string, any>): Record<string, string> {
  const errors: Record<string, string> = {}
  for (const f of spec.fields) {
    const value = v[f.name]
    const required = isRequired(f, v)
    if (f.kind === 'days') {
      const e = workingDaysError(Number(value))
      if (e) errors[f.name] = e
    } else if (f.kind === 'units') {
      if (required && (!Array.isArray(value) || value.length === 0)) errors[f.name] = 'choose_unit'
    } else if (f.kind === 'bool') {
      continue
    } else if (f.kind === 'textarea' || f.kind === 'text') {
      if (required || (value ?? '').trim() !== '') {
        const e = textError(value, f.min ?? 1)
        if (e) errors[f.name] = e
      }
    } else if (required && (value === '' || value === null || value === undefined)) {
      errors[f.name] = f.kind === 'unit' ? 'choose_unit' : 'required'
    }
  }
  return errors
}

/** The request body: the type, plus the filled fields (empty optional ones left out). */
export function commandBody(spec: CommandSpec, v: Record<string, any>): Record<string, unknown> {
  const body: Record<string, unknown> = { type: spec.type }
  for (const f of spec.fields) {
    const value = v[f.name]
    if (f.kind === 'bool') body[f.name] = !!value
    else if (f.kind === 'days') body[f.name] = Number(value)
    else if (f.kind === 'units') { if (Array.isArray(value) && value.length) body[f.name] = value }
    else if (f.kind === 'datetime') { if (value) body[f.name] = new Date(value).toISOString() }
    else if (typeof value === 'string' && value.trim() !== '') body[f.name] = value.trim()
  }
  if (spec.type === 'callback' && v.satisfaction !== 'unsatisfied') delete body.unit_at_fault
  return body
}
