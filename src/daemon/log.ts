import type { RequestLog } from '../bridge/index.js'

/** How the daemon's log lines look: one JSON object each (for machines), or a line for a person. */
export type LogFormat = 'json' | 'human'

export interface DaemonLog {
  request(r: RequestLog, via?: string): void
  notice(level: string, msg: string, fields?: Record<string, unknown>): void
}

/** The daemon's log, in `format`, written through `out` one line at a time. */
export function daemonLog(format: LogFormat, out: (line: string) => void): DaemonLog {
  if (format === 'json') {
    return {
      request: (r, via) => out(JSON.stringify({ level: 'info', time: new Date().toISOString(), msg: 'request', ...(via && { via }), ...r })),
      notice: (level, msg, fields = {}) => out(JSON.stringify({ level, time: new Date().toISOString(), msg, ...fields })),
    }
  }
  return {
    request: (r, via) => {
      const outcome = r.event === 'error' ? `error ${r.code ?? ''}`.trim() : r.event
      const extra = [r.tid !== undefined ? `tid ${r.tid}` : '', `${r.ms} ms`, `client ${r.client.slice(0, 8)}`, via ? `via ${via}` : ''].filter(Boolean)
      out(`${clockTime()}  ${r.command.padEnd(14)} → ${outcome.padEnd(12)} ${extra.join(', ')}`)
    },
    notice: (level, msg, fields = {}) => {
      const rest = Object.entries(fields).map(([k, v]) => `${k} ${typeof v === 'string' ? v : JSON.stringify(v)}`)
      out(`${clockTime()}  ${level === 'info' ? '' : `${level}: `}${msg}${rest.length ? ` (${rest.join(', ')})` : ''}`)
    },
  }
}

function clockTime(): string {
  const d = new Date()
  const p = (n: number, w = 2) => String(n).padStart(w, '0')
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`
}
