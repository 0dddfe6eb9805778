import type { Json, Socket } from './socket.js'
import { button, el, errorText } from './inspector.js'

/** The transaction history, newest first, each with an Undo that a conflict refuses (the refusal shown). */
export class HistoryView {
  /** Refusals by tid: shown again after the redraws later commits cause. */
  private readonly refusals = new Map<number, string>()

  constructor(private readonly sock: Socket, private readonly list: HTMLElement, private readonly say: (t: string) => void, private readonly readOnly: () => boolean) {}

  async refresh(): Promise<void> {
    const reply = await this.sock.send({ command: 'history', limit: 30 })
    if (reply.event !== 'history') return
    const rows = (reply.transactions as { tid: number; user: string; description: string; time: number }[]).map((t) => {
      const li = el('li', { 'data-tid': String(t.tid) })
      li.append(el('span', { class: 'tid' }, String(t.tid)), ' ', el('span', { class: 'desc' }, t.description || '(no description)'), ' ', el('span', { class: 'user' }, t.user))
      const undo = button('Undo', () => void this.undo(t.tid, li), `undo transaction ${t.tid}`)
      undo.disabled = this.readOnly()
      li.append(' ', undo)
      const refused = this.refusals.get(t.tid)
      if (refused !== undefined) li.append(el('div', { class: 'error refusal', role: 'alert' }, refused))
      return li
    })
    this.list.replaceChildren(...rows)
  }

  private async undo(tid: number, li: HTMLElement): Promise<void> {
    const reply = await this.sock.send({ command: 'undo', tid })
    if (reply.event === 'error') {
      this.refusals.set(tid, errorText(reply))
      const note = el('div', { class: 'error refusal', role: 'alert' }, errorText(reply))
      li.querySelector('.refusal')?.remove()
      li.append(note)
      return
    }
    this.refusals.delete(tid)
    this.say(`transaction ${tid} undone (as transaction ${String(reply.tid ?? '?')})`)
  }
}

/** The JIT at work: each published jit_cycle event as it comes, one entry per cycle, its phases appended. */
export class JitLog {
  private readonly cycles = new Map<string, HTMLElement>()

  constructor(private readonly list: HTMLElement) {}

  event(e: Json): void {
    const cycle = String(e.cycle)
    let li = this.cycles.get(cycle)
    if (li === undefined) {
      li = el('li', { class: 'jit-cycle', 'data-cycle': cycle })
      li.append(el('div', { class: 'jit-head' }, `${String(e.selector)} for ${String(e.print)}`))
      this.cycles.set(cycle, li)
      this.list.prepend(li)
      while (this.list.children.length > 50) {
        const last = this.list.lastElementChild as HTMLElement
        this.cycles.delete(last.dataset.cycle ?? '')
        last.remove()
      }
    }
    li.dataset.phase = String(e.phase)
    li.append(el('div', { class: `jit-phase phase-${String(e.phase)}` }, phaseText(e)))
  }
}

export function phaseText(e: Json): string {
  const n = `attempt ${String(e.attempt)}/${String(e.max_attempts)}`
  switch (e.phase) {
    case 'started': return `compiling… ${n}`
    case 'attempt': return `retrying: ${n}`
    case 'attempt_failed': return `${n} failed: ${String(e.reason ?? '')}`
    case 'compiled': return `compiled (transaction ${String(e.tid ?? '?')}${typeof e.ms === 'number' ? `, ${Math.round(e.ms)} ms` : ''}): ${String(e.explanation ?? '')}`
    case 'failed': return `failed: ${String(e.reason ?? '')}`
    default: return String(e.phase)
  }
}
