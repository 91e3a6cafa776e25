// GB 3838-2002 surface-water class limits for the factors the stations report (class I..V upper
// limits; dissolved oxygen is a lower limit). Total phosphorus differs for lakes and reservoirs.
export const FACTOR_NAMES: Record<string, string> = {
  w01001: 'pH', w01003: '浊度', w01009: '溶解氧', w01010: '水温', w01014: '电导率', w01017: '五日生化需氧量',
  w01018: '化学需氧量', w01019: '高锰酸盐指数', w21001: '总氮', w21003: '氨氮', w21011: '总磷',
}
const LIMITS: Record<string, number[]> = {
  w01009: [7.5, 6, 5, 3, 2],
  w01019: [2, 4, 6, 10, 15],
  w01018: [15, 15, 20, 30, 40],
  w01017: [3, 3, 4, 6, 10],
  w21003: [0.15, 0.5, 1.0, 1.5, 2.0],
  w21001: [0.2, 0.5, 1.0, 1.5, 2.0],
}
const TP_RIVER = [0.02, 0.1, 0.2, 0.3, 0.4]
const TP_LAKE = [0.01, 0.025, 0.05, 0.1, 0.2]

export function classLimits(factor: string, waterbody: string): number[] | null {
  if (factor === 'w21011') return waterbody === 'lake' ? TP_LAKE : TP_RIVER
  return LIMITS[factor] ?? null
}
export const CLASS_NAMES = ['I', 'II', 'III', 'IV', 'V']
export const CLASS_COLOURS: Record<string, string> = { I: '#1565c0', II: '#2e9bd6', III: '#2e9e4f', IV: '#d9a400', V: '#e0701b', 'V+': '#b22a2a', 劣V: '#b22a2a' }
