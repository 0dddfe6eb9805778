import type { Json, Socket } from './socket.js'
import { type ArrayPage, type WireObject, brief, isArrayPage, isMethod, isRef, page, parentRefs, parseTyped, slotKind } from './wire.js'

const PAGE = 200

/**
 * The outliner: one object at a time, as get_full_state shows it. Own slots with their kinds,
 * each parent and the slots inherited from it, method sources, provenance (why), edits
 * (update_property, create_method), an evaluator with the object as self. Long lists are paged.
 */
export class Inspector {
  private oid: number | undefined
  private readonly trail: number[] = []
  /** What the last save or run answered: kept across the redraws its own commit causes. */
  private flash: { form: string; text: string; error: boolean } | undefined

  constructor(
    private readonly sock: Socket,
    private readonly root: HTMLElement,
    private readonly hooks: { showOnCanvas: (oid: number) => boolean; readOnly: () => boolean; say: (text: string) => void },
  ) {}

  get current(): number | undefined {
    return this.oid
  }

  async open(target: number | string, push = true): Promise<void> {
    const reply = await this.sock.send({ command: 'get_full_state', target: typeof target === 'number' ? { $ref: target } : target, depth: 1, slots_limit: PAGE, elements_limit: PAGE })
    if (reply.event !== 'uvm_state_update' || !isRef(reply.state)) {
      this.hooks.say(`inspect: ${errorText(reply)}`)
      return
    }
    if (push && this.oid !== undefined && this.oid !== reply.state.$ref) this.trail.push(this.oid)
    if (this.oid !== reply.state.$ref) this.flash = undefined
    this.oid = reply.state.$ref
    await this.render(reply.state)
  }

  /** Re-read the inspected object after a commit that wrote it (or anything, when unsure). */
  refresh(oids: readonly number[] | undefined): void {
    if (this.oid === undefined) return
    if (oids !== undefined && !oids.includes(this.oid)) return
    // Leave an edit in progress alone: redrawing would throw away what is being typed.
    if (this.root.querySelector('.editing') !== null) return
    void this.open(this.oid, false)
  }

  private async render(obj: WireObject): Promise<void> {
    const slots = Object.entries(obj.$slots ?? {})
    const body = el('div', { class: 'inspector-body' })
    const head = el('div', { class: 'inspector-head' })
    const title = el('h2', { id: 'inspector-title', tabindex: '-1' }, obj.$print ?? `#${obj.$ref}`)
    head.append(title)
    const back = button('Back', () => {
      const prev = this.trail.pop()
      if (prev !== undefined) void this.open(prev, false)
    })
    back.disabled = this.trail.length === 0
    const canvas = button('Show on canvas', () => {
      if (!this.hooks.showOnCanvas(obj.$ref)) this.hooks.say(`${obj.$print} is not drawn on the canvas`)
    })
    head.append(el('span', { class: 'oid' }, `oid ${obj.$ref}`), back, canvas)
    body.append(head)

    const total = obj.$slot_count ?? slots.length
    body.append(el('h3', {}, `Own slots (${total})`))
    body.append(this.slotTable(slots, total, obj.$ref, true))

    const parents = slots.filter(([n]) => n.endsWith('*')).flatMap(([, v]) => parentRefs(v))
    if (parents.length > 0) {
      body.append(el('h3', {}, 'Inherited'))
      const shadow = new Set(slots.map(([n]) => n))
      body.append(await this.ancestry(parents, shadow))
    }
    body.append(this.methodForm(obj.$ref), this.evaluator(obj.$ref))
    const flash = this.flash
    const out = flash && body.querySelector(`form.${flash.form} .form-out`)
    if (flash && out) {
      out.textContent = flash.text
      out.classList.toggle('error', flash.error)
    }
    this.root.replaceChildren(body)
  }

  /** Each ancestor, nearest first, with the slots a send would find there (not shadowed below). */
  private async ancestry(start: number[], shadow: Set<string>): Promise<HTMLElement> {
    const list = el('div', { class: 'ancestry' })
    const queue = [...start]
    const seen = new Set<number>()
    while (queue.length > 0 && seen.size < 32) {
      const oid = queue.shift()!
      if (seen.has(oid)) continue
      seen.add(oid)
      const reply = await this.sock.send({ command: 'get_full_state', target: { $ref: oid }, depth: 1, slots_limit: PAGE })
      if (!isRef(reply.state)) continue
      const slots = Object.entries(reply.state.$slots ?? {})
      const found = slots.filter(([n]) => !shadow.has(n))
      for (const [n] of slots) shadow.add(n)
      const d = el('details', { class: 'ancestor' }) as HTMLDetailsElement
      const sum = el('summary', {}, `from ${reply.state.$print ?? '#' + oid} (${found.length} slots)`)
      const open = button('Inspect', () => void this.open(oid))
      sum.append(' ', open)
      d.append(sum)
      // The table is built when opened: a prototype with many slots costs nothing until looked at.
      d.addEventListener('toggle', () => {
        if (d.open && d.querySelector('table') === null) d.append(this.slotTable(found, found.length, oid, false))
      }, { once: false })
      list.append(d)
      for (const [n, v] of slots) if (n.endsWith('*')) queue.push(...parentRefs(v))
    }
    return list
  }

  /**
   * Slots a page at a time: those at hand first, then (for own slots of an object with more than a
   * page) the next pages from the image with get_full_state's slots_offset and slots_limit.
   */
  private slotTable(first: [string, unknown][], total: number, holder: number, own: boolean): HTMLElement {
    const slots = [...first]
    const wrap = el('div', { class: 'slots' })
    const table = el('table', {})
    table.append(el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'slot'), el('th', { scope: 'col' }, 'kind'), el('th', { scope: 'col' }, 'value'), el('th', { scope: 'col' }, ''))))
    const tbody = el('tbody', {})
    table.append(tbody)
    wrap.append(table)
    let offset = 0
    const more = button('', () => void addPage())
    const addPage = async () => {
      if (offset >= slots.length && slots.length < total) {
        const r = await this.sock.send({ command: 'get_full_state', target: { $ref: holder }, depth: 1, slots_offset: slots.length, slots_limit: PAGE })
        if (isRef(r.state)) slots.push(...Object.entries(r.state.$slots ?? {}))
      }
      const p = page(slots, offset, PAGE)
      for (const [n, v] of p.items) tbody.append(this.slotRow(n, v, holder, own))
      offset += p.items.length
      const left = Math.max(p.more, total - offset)
      more.textContent = `Show ${Math.min(PAGE, left)} more (${left} left)`
      more.hidden = left === 0 || p.items.length === 0
    }
    void addPage()
    wrap.append(more)
    return wrap
  }

  private slotRow(name: string, v: unknown, holder: number, own: boolean): HTMLElement {
    const kind = slotKind(name, v)
    const tr = el('tr', { 'data-slot': name })
    const value = el('td', { class: 'value' })
    const actions = el('td', { class: 'actions' })
    tr.append(el('th', { scope: 'row' }, name), el('td', { class: `kind kind-${kind}` }, kind), value, actions)
    if (kind === 'method' && isMethod(v)) {
      const d = el('details', {})
      d.append(el('summary', {}, v.$method.split('\n')[0]!.slice(0, 80)), el('pre', { class: 'source' }, v.$method))
      value.append(d)
      if (own) actions.append(editButton(button('Edit', () => this.editMethod(holder, name, v.$method), `edit method ${name}`)))
    } else if (isRef(v)) {
      value.append(button(v.$print ?? `#${v.$ref}`, () => void this.open(v.$ref), `inspect ${name}`))
    } else if (isArrayPage(v)) {
      value.append(this.pagedArray(holder, name, v))
    } else if (Array.isArray(v) && v.some(isRef)) {
      value.append(this.arrayList(v))
    } else {
      value.textContent = brief(v)
      if (own && kind === 'data') actions.append(editButton(button('Edit', () => this.editData(tr, value, holder, name, v), `edit ${name}`)))
    }
    actions.append(button('Why', () => void this.why(tr, holder, name), `why ${name}`))
    return tr
  }

  /** An array too long to send whole: its first page came with the object, the next ones are asked for. */
  private pagedArray(holder: number, name: string, first: ArrayPage): HTMLElement {
    const ol = el('ol', { class: 'array', 'aria-label': `${name}: ${first.$length} elements` })
    let loaded = 0
    const more = button('', () => void next(), `load more of ${name}`)
    const show = (items: unknown[]) => {
      for (const x of items) ol.append(el('li', {}, isRef(x) ? button(x.$print ?? `#${x.$ref}`, () => void this.open(x.$ref)) : brief(x)))
      loaded += items.length
      more.textContent = `${first.$length - loaded} more`
      more.hidden = loaded >= first.$length
    }
    const next = async () => {
      const reply = await this.sock.send({ command: 'get_full_state', target: { $ref: holder }, slot: name, elements_offset: loaded, elements_limit: PAGE, depth: 1 })
      if (reply.event === 'uvm_state_update' && isArrayPage(reply.state)) show(reply.state.$array)
      else this.hooks.say(`${name}: ${errorText(reply)}`)
    }
    show(first.$array)
    const box = el('div', {})
    box.append(ol, more)
    return box
  }

  /** A long array of objects: the first page of items, the rest on request. */
  private arrayList(items: unknown[]): HTMLElement {
    const ol = el('ol', { class: 'array' })
    let offset = 0
    const more = button('', () => add())
    const add = () => {
      const p = page(items, offset, 50)
      p.items.forEach((x) => ol.append(el('li', {}, isRef(x) ? button(x.$print ?? `#${x.$ref}`, () => void this.open(x.$ref)) : brief(x))))
      offset += p.items.length
      more.textContent = `${p.more} more`
      more.hidden = p.more === 0
    }
    add()
    const box = el('div', {})
    box.append(ol, more)
    return box
  }

  private editData(tr: HTMLElement, cell: HTMLElement, holder: number, name: string, v: unknown): void {
    if (this.hooks.readOnly()) return this.hooks.say('read-only: edits are refused')
    tr.classList.add('editing')
    const input = el('input', { type: 'text', 'aria-label': `new value of ${name}` }) as HTMLInputElement
    input.value = typeof v === 'string' ? v : JSON.stringify(v)
    const error = el('span', { class: 'error', role: 'alert' })
    const save = async () => {
      const reply = await this.sock.send({ command: 'update_property', target: { $ref: holder }, property_name: name, property_value: parseTyped(input.value) })
      if (reply.event === 'error') {
        error.textContent = errorText(reply)
        return
      }
      tr.classList.remove('editing')
      this.hooks.say(`${name} set (transaction ${String(reply.tid ?? '?')})`)
      void this.open(holder, false)
    }
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') void save()
      if (e.key === 'Escape') {
        tr.classList.remove('editing')
        void this.open(holder, false)
      }
    })
    cell.replaceChildren(input, button('Save', () => void save()), error)
    input.focus()
  }

  private editMethod(holder: number, name: string, source: string): void {
    const form = this.root.querySelector<HTMLFormElement>('form.method-form')
    if (form === null) return
    ;(form.elements.namedItem('name') as HTMLInputElement).value = name
    ;(form.elements.namedItem('code') as HTMLTextAreaElement).value = source
    ;(form.elements.namedItem('code') as HTMLTextAreaElement).focus()
    void holder
  }

  private async why(tr: HTMLElement, holder: number, name: string): Promise<void> {
    const reply = await this.sock.send({ command: 'why', target: { $ref: holder }, selector: name })
    tr.nextElementSibling?.classList.contains('why-row') && tr.nextElementSibling.remove()
    const row = el('tr', { class: 'why-row' })
    row.append(el('td', { colspan: '4', role: 'status' }, reply.event === 'provenance' ? provenanceText(reply) : errorText(reply)))
    tr.after(row)
  }

  private methodForm(holder: number): HTMLElement {
    const form = el('form', { class: 'method-form', 'aria-label': 'add or edit a method' }) as HTMLFormElement
    const name = el('input', { name: 'name', type: 'text', required: '', 'aria-label': 'method name', placeholder: 'method name' })
    const code = el('textarea', { name: 'code', rows: '5', 'aria-label': 'method source', placeholder: 'function () {\n  return this.label\n}' })
    const out = el('pre', { class: 'form-out', role: 'status' })
    form.append(el('h3', {}, 'Add or edit a method'), name, code, el('button', { type: 'submit' }, 'Save method'), out)
    form.addEventListener('submit', async (e) => {
      e.preventDefault()
      if (this.hooks.readOnly()) return void (out.textContent = 'read-only: edits are refused')
      const reply = await this.sock.send({ command: 'create_method', target: { $ref: holder }, method_name: (name as HTMLInputElement).value, method_code: (code as HTMLTextAreaElement).value })
      this.flash = { form: 'method-form', error: reply.event === 'error', text: reply.event === 'error' ? errorText(reply) : `method ${(name as HTMLInputElement).value} saved (transaction ${String(reply.tid ?? '?')})` }
      out.classList.toggle('error', this.flash.error)
      out.textContent = this.flash.text
      if (reply.event !== 'error') void this.open(holder, false)
    })
    return form
  }

  /** run_act with the inspected object as self: bound by name, then self declared on the act's first line, so line numbers hold. */
  private evaluator(holder: number): HTMLElement {
    const form = el('form', { class: 'evaluator', 'aria-label': 'evaluate with this object as self' })
    const code = el('textarea', { name: 'code', rows: '3', 'aria-label': 'code to evaluate, self is the inspected object', placeholder: 'return self.label' }) as HTMLTextAreaElement
    const out = el('pre', { class: 'form-out', role: 'status' })
    form.append(el('h3', {}, 'Evaluate (self is this object)'), code, el('button', { type: 'submit' }, 'Run'), out)
    form.addEventListener('submit', async (e) => {
      e.preventDefault()
      // `self` comes in on a line of its own, so the act's columns are the typed ones and its lines one more.
      const reply = await this.sock.send({ command: 'run_act', code: `const self = inspected_object\n${code.value}`, bindings: { inspected_object: { $ref: holder } }, description: code.value.split('\n')[0]!.slice(0, 200) })
      this.flash = { form: 'evaluator', error: reply.event === 'error', text: reply.event === 'error' ? errorText(reply, -1) : `${typeof reply.output === 'string' && reply.output !== '' ? reply.output : ''}${brief(reply.value, 2000)}` }
      out.classList.toggle('error', this.flash.error)
      out.textContent = this.flash.text
    })
    return form
  }
}

/** `lineShift`: added to every line number (the evaluator's act has one line before what was typed). */
export function errorText(reply: Json, lineShift = 0): string {
  const e = (reply.error ?? {}) as { code?: string; message?: string; details?: { line?: number; column?: number; excerpt?: string } }
  const d = e.details ?? (reply.error as Record<string, unknown> | undefined) as { line?: number; column?: number; excerpt?: string } | undefined
  const message = (e.message ?? 'no message').replace(/\(line (\d+)/g, (_m, l: string) => `(line ${Number(l) + lineShift}`)
  const where = d?.line !== undefined && !message.includes('(line') ? ` (line ${d.line + lineShift}${d.column !== undefined ? `, column ${d.column}` : ''})` : ''
  return `${e.code ?? 'error'}: ${message}${where}${d?.excerpt ? '\n' + d.excerpt : ''}`
}

export function provenanceText(r: Json): string {
  const parts = [`${String(r.selector)}: ${String(r.kind)} slot of ${String(r.holder_print)}`]
  const cur = r.curriculum as Record<string, unknown> | undefined
  const jit = r.jit as Record<string, unknown> | undefined
  if (cur !== undefined) parts.push(`made by the curriculum: ${String(cur.conversation ?? '')}, turn ${String(cur.turn ?? '')}`)
  if (jit !== undefined) parts.push(`made by JIT cycle ${String(jit.cycle ?? '')}`)
  if (r.tid !== undefined) parts.push(`transaction ${String(r.tid)}${r.description ? ': ' + String(r.description) : ''}`)
  const explanation = (r.explanation ?? jit?.explanation) as string | undefined
  if (explanation) parts.push(explanation)
  return parts.join(' — ')
}

export function el(tag: string, attrs: Record<string, string>, ...kids: (Node | string)[]): HTMLElement {
  const e = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v)
  e.append(...kids)
  return e
}

export function button(text: string, onClick: () => void, label?: string): HTMLButtonElement {
  const b = document.createElement('button')
  b.type = 'button'
  b.textContent = text
  if (label !== undefined) b.setAttribute('aria-label', label)
  b.addEventListener('click', onClick)
  return b
}

/** Edits are offered only on a writable page (a read-only one hides them, and the daemon would refuse them). */
function editButton(b: HTMLButtonElement): HTMLButtonElement {
  b.classList.add('edit')
  return b
}
