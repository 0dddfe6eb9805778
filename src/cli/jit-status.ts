import { randomUUID } from 'node:crypto'
import type { ClientKeys } from '../bridge/index.js'
import type { JitEvent, Reply } from '../covenant/index.js'

/**
 * The events address that goes with a command address: the one the daemon was told (--events,
 * UVM_EVENTS), else the same host and the next port (uvm boot's defaults are 5555 and 5556).
 */
export function eventsAddress(connect: string, given: string | undefined): string | undefined {
  if (given !== undefined) return given
  const m = /^(tcp:\/\/.+):(\d+)$/.exec(connect)
  return m ? `${m[1]}:${Number(m[2]) + 1}` : undefined
}

/** One line about a JIT cycle, as the status line shows it. */
export function statusText(e: JitEvent): string {
  const what = `${e.selector} for ${e.print}`
  switch (e.phase) {
    case 'started': return `compiling ${what}… attempt 1/${e.max_attempts}`
    case 'attempt': return `compiling ${what}… attempt ${e.attempt}/${e.max_attempts}`
    case 'attempt_failed': return `attempt ${e.attempt}/${e.max_attempts} for ${what} failed: ${firstLine(e.reason ?? '')}`
    case 'compiled': return `compiled ${what} in ${e.ms ?? 0} ms (transaction ${e.tid})`
    case 'failed': return `could not compile ${what}`
  }
}

/**
 * Watch the daemon's JIT events for one request (matched by the request id the command carries)
 * and show each as a status line on stderr: rewritten in place on a terminal, one line each
 * otherwise. Best effort: a daemon that publishes nothing leaves no line.
 */
export function watchJit(endpoint: string | undefined, keys: ClientKeys | undefined, err: (line: string) => void, tty: boolean): { id: string; ready: Promise<void>; stop(): void } {
  const id = `cli-${randomUUID()}`
  const ac = new AbortController()
  let shown = false
  const show = (line: string, final: boolean) => {
    if (tty) {
      process.stderr.write(`\r\x1b[2K${line}${final ? '\n' : ''}`)
      shown = !final
    } else {
      err(line)
    }
  }
  const done = (async () => {
    if (endpoint === undefined) return
    try {
      const { subscribeJit } = await import('../bridge/index.js')
      for await (const e of subscribeJit(endpoint, { ...(keys && { keys }), signal: ac.signal })) {
        if (e.request !== id) continue
        show(statusText(e), e.phase === 'compiled' || e.phase === 'failed' || e.phase === 'attempt_failed')
      }
    } catch { /* the status line is a courtesy */ }
  })()
  return {
    id,
    // A SUB socket needs a moment to join before the first event it should see.
    ready: new Promise((r) => setTimeout(r, endpoint === undefined ? 0 : 150)),
    stop() {
      ac.abort()
      if (tty && shown) process.stderr.write('\r\x1b[2K')
      void done
    },
  }
}

/** The explanations of the cycles a reply ran: printed with the result. */
export function explanations(r: Reply): string[] {
  if (r.event !== 'result' || r.jit === undefined) return []
  return r.jit.map((c) => `jit: ${c.selector} for ${c.print} (transaction ${c.tid}${c.attempts.length > 0 ? `, after ${c.attempts.length} failed attempt${c.attempts.length > 1 ? 's' : ''}` : ''}): ${c.explanation}`)
}

function firstLine(s: string): string {
  const line = s.split('\n', 1)[0] ?? ''
  return line.length > 160 ? line.slice(0, 159) + '…' : line
}
