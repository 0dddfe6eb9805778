import type { Json, Socket } from './socket.js'
import { type WireObject, cssColor, indexObjects, isMethod, isRef, parentRefs, textColorFor } from './wire.js'

/** The path the page draws from: genesis chapter 1's world. */
export const WORLD_PATH = 'genesis.world'
const BUTTON_KINDS = new Set(['ButtonMorph', 'ToggleMorph'])

/**
 * Draws the WorldMorph tree as the image holds it. Each redraw fetches what it draws with
 * get_full_state and forgets it afterwards: the DOM is the only copy of the world in the page.
 */
export class WorldView {
  private drawing: Promise<void> | undefined
  private again = false
  /** The oids the last drawing read, so an update that touched none of them needs no redraw. */
  private read = new Set<number>()
  private keys: Promise<void> = Promise.resolve()

  constructor(
    private readonly sock: Socket,
    private readonly stage: HTMLElement,
    private readonly hooks: { inspect: (oid: number) => void; pressed: (label: string, reply: Json) => void; empty: (missing: boolean) => void },
  ) {}

  /** Redraw when a commit wrote something the world is drawn from (or always, when unsure). */
  changed(oids: readonly number[] | undefined): void {
    if (oids !== undefined && this.read.size > 0 && !oids.some((o) => this.read.has(o))) {
      // A new morph is reachable only through a slot of one already read, so this is safe to skip.
      return
    }
    this.redraw()
  }

  redraw(): void {
    if (this.drawing !== undefined) {
      this.again = true
      return
    }
    this.drawing = this.draw().finally(() => {
      this.drawing = undefined
      if (this.again) {
        this.again = false
        this.redraw()
      }
    })
  }

  /** Outline the element drawing oid and bring it into view: the way back from the inspector. */
  highlight(oid: number): boolean {
    for (const el of this.stage.querySelectorAll('.morph.highlight')) el.classList.remove('highlight')
    const el = this.stage.querySelector<HTMLElement>(`[data-oid="${oid}"]`)
    if (el === null) return false
    el.classList.add('highlight')
    el.scrollIntoView({ block: 'nearest' })
    el.focus()
    return true
  }

  private async draw(): Promise<void> {
    // The Genesis Object too (depth 0: its oid only): a commit that puts another world in its slot must redraw.
    const [reply, genesis] = await Promise.all([
      this.sock.send({ command: 'get_full_state', target: WORLD_PATH, depth: 4 }),
      this.sock.send({ command: 'get_full_state', target: 'genesis', depth: 0 }),
    ])
    if (reply.event !== 'uvm_state_update' || !isRef(reply.state)) {
      const err = reply.error as { code?: string } | undefined
      if (err?.code === 'disconnected') return
      this.stage.replaceChildren()
      this.read = new Set()
      this.hooks.empty(true)
      return
    }
    const objects = indexObjects(reply.state)
    const read = new Set<number>(isRef(genesis.state) ? [genesis.state.$ref] : [])
    const resolver = new Resolver(this.sock, objects, read)
    const root = await resolver.morph(reply.state.$ref, 0)
    if (root === undefined) return
    this.hooks.empty(false)
    const world = this.element(root, undefined)
    this.stage.style.width = `${root.bounds.width}px`
    this.stage.style.height = `${root.bounds.height}px`
    // The DOM is rebuilt; focus stays on the morph that had it, so keyboard users (and typing) carry on.
    const focused = (document.activeElement as HTMLElement | null)?.closest?.('.morph') as HTMLElement | null
    const focusOid = focused !== null && this.stage.contains(focused) ? focused.dataset.oid : undefined
    this.stage.replaceChildren(world)
    if (focusOid !== undefined) this.stage.querySelector<HTMLElement>(`[data-oid="${focusOid}"]`)?.focus({ preventScroll: true })
    this.read = read
    this.fit()
  }

  /** Scale the world to the width it has, never above its own size. */
  fit(): void {
    const w = Number.parseFloat(this.stage.style.width) || 800
    const h = Number.parseFloat(this.stage.style.height) || 600
    const box = this.stage.parentElement
    if (box === null) return
    const scale = Math.min(1, box.clientWidth / w)
    this.stage.style.transform = `scale(${scale})`
    box.style.height = `${Math.ceil(h * scale)}px`
  }

  private element(m: Morph, owner: Morph | undefined): HTMLElement {
    const isButton = BUTTON_KINDS.has(m.kind) || (m.kind.endsWith('ButtonMorph'))
    const el: HTMLElement = document.createElement(isButton ? 'button' : 'div')
    el.className = `morph kind-${m.kind}`
    el.dataset.oid = String(m.oid)
    el.dataset.kind = m.kind
    const b = m.bounds
    el.style.left = `${b.x - (owner?.bounds.x ?? b.x)}px`
    el.style.top = `${b.y - (owner?.bounds.y ?? b.y)}px`
    el.style.width = `${b.width}px`
    el.style.height = `${b.height}px`
    el.style.fontSize = `${m.font_size}px`
    const bg = cssColor(m.color)
    if (bg !== undefined) el.style.backgroundColor = bg
    el.style.color = textColorFor(m.color)
    const words = m.text !== undefined && m.text !== '' ? m.text : m.label
    if (isButton) {
      el.setAttribute('aria-label', words)
      el.textContent = words
      el.addEventListener('click', (e: MouseEvent) => {
        if (e.shiftKey || e.altKey) return this.hooks.inspect(m.oid)
        void this.press(m)
      })
    } else {
      el.setAttribute('role', m.kind === 'WorldMorph' ? 'region' : m.kind === 'TextInputMorph' ? 'textbox' : 'group')
      if (m.kind === 'TextInputMorph') el.setAttribute('aria-readonly', 'true')
      el.setAttribute('aria-label', `${m.kind}${words ? ': ' + words : ''}`)
      el.tabIndex = 0
      const text = document.createElement('span')
      text.className = 'morph-text'
      text.textContent = m.kind === 'TextInputMorph' && !m.text ? m.placeholder ?? '' : words
      if (m.kind === 'TextInputMorph' && !m.text) text.classList.add('placeholder')
      el.append(text)
      if (m.hasKeys) {
        // A text input takes keys: each goes to the morph's keyPress in the image, which keeps the text.
        el.setAttribute('aria-readonly', 'false')
        el.addEventListener('click', (e: MouseEvent) => {
          if (e.shiftKey || e.altKey) this.hooks.inspect(m.oid)
          else el.focus()
        })
        el.addEventListener('keydown', (e: KeyboardEvent) => {
          if (e.target !== el || e.ctrlKey || e.metaKey || e.altKey) return
          if (e.key.length !== 1 && !['Enter', 'Backspace', 'Escape'].includes(e.key)) return
          e.preventDefault()
          const key = e.key
          // One at a time: two keys in flight could commit in either order.
          this.keys = this.keys.then(() => this.sock.send({ command: 'send_message', target: { $ref: m.oid }, selector: 'keyPress', args: [key] })).then(() => undefined)
        })
      } else {
        el.addEventListener('click', (e) => {
          if (e.target === el || e.target === text) this.hooks.inspect(m.oid)
        })
        el.addEventListener('keydown', (e: KeyboardEvent) => {
          if ((e.key === 'Enter' || e.key === ' ') && e.target === el) {
            e.preventDefault()
            this.hooks.inspect(m.oid)
          }
        })
      }
    }
    el.title = `${m.print} (${m.hasKeys ? 'type into it; shift-click' : 'shift-click or i'}: inspect)`
    el.addEventListener('keydown', (e: KeyboardEvent) => {
      if (e.key === 'i' && e.target === el && !m.hasKeys) {
        e.preventDefault()
        this.hooks.inspect(m.oid)
      }
    })
    for (const c of m.children) el.append(this.element(c, m))
    return el
  }

  /** A button morph's press runs in the image: press() when the morph has it, else dispatch('press'). */
  private async press(m: Morph): Promise<void> {
    const cmd = m.hasPress
      ? { command: 'send_message', target: { $ref: m.oid }, selector: 'press', args: [] }
      : { command: 'send_message', target: { $ref: m.oid }, selector: 'dispatch', args: ['press'] }
    const reply = await this.sock.send(cmd)
    this.hooks.pressed(m.text || m.label, reply)
  }
}

interface Morph {
  oid: number
  print: string
  kind: string
  bounds: { x: number; y: number; width: number; height: number }
  label: string
  text?: string
  placeholder?: string
  font_size: number
  color: unknown
  visible: boolean
  hasPress: boolean
  /** A morph with keyPress (chapter 1's TextInputMorph) is typed into. */
  hasKeys: boolean
  children: Morph[]
}

/** Slot lookup as a send would do it: own slots, then the parents, fetched when the reply lacked them. */
class Resolver {
  constructor(private readonly sock: Socket, private readonly objects: Map<number, WireObject>, private readonly read: Set<number>) {}

  /** Fetches in flight, so the many morphs that share a prototype ask for it once. */
  private readonly asking = new Map<number, Promise<WireObject | undefined>>()

  private object(oid: number): Promise<WireObject | undefined> | WireObject | undefined {
    this.read.add(oid)
    const have = this.objects.get(oid)
    if (have !== undefined) return have
    let asked = this.asking.get(oid)
    if (asked === undefined) {
      asked = this.sock.send({ command: 'get_full_state', target: { $ref: oid }, depth: 2 }).then((reply) => {
        if (reply.event !== 'uvm_state_update' || !isRef(reply.state)) return undefined
        indexObjects(reply.state, this.objects)
        return this.objects.get(oid)
      })
      this.asking.set(oid, asked)
    }
    return asked
  }

  async lookup(oid: number, name: string, seen = new Set<number>()): Promise<unknown> {
    if (seen.has(oid) || seen.size > 64) return undefined
    seen.add(oid)
    const o = await this.object(oid)
    if (o?.$slots === undefined) return undefined
    if (Object.hasOwn(o.$slots, name)) return o.$slots[name]
    for (const [n, v] of Object.entries(o.$slots)) {
      if (!n.endsWith('*')) continue
      for (const p of parentRefs(v)) {
        const found = await this.lookup(p, name, seen)
        if (found !== undefined) return found
      }
    }
    return undefined
  }

  async morph(oid: number, level: number): Promise<Morph | undefined> {
    if (level > 32) return undefined
    const o = await this.object(oid)
    if (o === undefined) return undefined
    const get = (n: string) => this.lookup(oid, n)
    const [kind, bounds, label, text, placeholder, fontSize, color, visible, press, children, keyPress] = await Promise.all(
      ['kind', 'bounds', 'label', 'text', 'placeholder', 'font_size', 'color', 'visible', 'press', 'children', 'keyPress'].map(get),
    )
    if (visible === false) return undefined
    const bb = (bounds ?? {}) as Record<string, unknown>
    const num = (x: unknown, d: number) => (typeof x === 'number' && Number.isFinite(x) ? x : d)
    const kids = Array.isArray(children) ? children.filter(isRef) : []
    const drawn = (await Promise.all(kids.map((k) => this.morph(k.$ref, level + 1)))).filter((k): k is Morph => k !== undefined)
    return {
      oid,
      print: o.$print ?? `#${oid}`,
      kind: typeof kind === 'string' ? kind : 'Morph',
      bounds: { x: num(bb.x, 0), y: num(bb.y, 0), width: num(bb.width, 100), height: num(bb.height, 40) },
      label: typeof label === 'string' ? label : '',
      ...(typeof text === 'string' && { text }),
      ...(typeof placeholder === 'string' && { placeholder }),
      font_size: num(fontSize, 14),
      color,
      visible: true,
      hasPress: isMethod(press),
      hasKeys: isMethod(keyPress),
      children: drawn,
    }
  }
}
