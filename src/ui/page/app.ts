import { Inspector } from './inspector.js'
import { HistoryView, JitLog } from './panels.js'
import { type Json, Socket, socketUrl } from './socket.js'
import { WORLD_PATH, WorldView } from './world.js'

/** The page: the world, the status label, the inspector, the history and the JIT, over one socket. */
function main(): void {
  const $ = (id: string) => document.getElementById(id)!
  const sock = new Socket(socketUrl(location))
  const state = { connected: false, daemon: 'unknown', readOnly: false, tid: undefined as number | undefined, version: '' }
  const status = $('status')
  const notes = $('notes')
  const say = (text: string) => {
    notes.textContent = text
  }
  const showStatus = () => {
    const parts = [state.connected ? (state.daemon === 'daemon_lost' ? 'daemon lost, waiting for it' : 'connected') : 'gateway lost, reconnecting']
    if (state.tid !== undefined) parts.push(`last transaction ${state.tid}`)
    if (state.readOnly) parts.push('read-only')
    status.textContent = `Backend State: ${parts.join(', ')}`
    status.dataset.state = state.connected && state.daemon !== 'daemon_lost' ? 'ok' : 'lost'
    document.body.classList.toggle('read-only', state.readOnly)
  }
  const inspector = new Inspector(sock, $('inspector'), {
    showOnCanvas: (oid) => world.highlight(oid),
    readOnly: () => state.readOnly,
    say,
  })
  const world = new WorldView(sock, $('stage'), {
    inspect: (oid) => {
      void inspector.open(oid).then(() => ($('inspector-title') as HTMLElement | null)?.focus())
    },
    pressed: (label, reply: Json) => say(reply.event === 'error' ? `${label}: ${String((reply.error as Json | undefined)?.message ?? 'error')}` : `${label} pressed`),
    empty: (missing) => {
      $('empty').hidden = !missing
    },
  })
  const history = new HistoryView(sock, $('history'), say, () => state.readOnly)
  const jit = new JitLog($('jit'))

  sock.onOpen((open) => {
    state.connected = open
    showStatus()
    if (open) {
      world.redraw()
      void history.refresh()
      if (inspector.current !== undefined) void inspector.open(inspector.current, false)
    }
  })
  sock.onEvent((e) => {
    if (e.event === 'gateway') {
      state.daemon = String(e.status)
      state.readOnly = e.read_only === true
      state.version = String(e.version ?? '')
      showStatus()
      if (e.status === 'daemon_back') {
        world.redraw()
        void history.refresh()
      }
    } else if (e.event === 'uvm_state_update') {
      if (typeof e.tid === 'number') state.tid = e.tid
      showStatus()
      const changed = Array.isArray(e.changed) ? (e.changed as number[]) : undefined
      world.changed(changed)
      inspector.refresh(changed)
      void history.refresh()
    } else if (e.event === 'jit_cycle') {
      jit.event(e)
    }
  })
  $('display').addEventListener('click', async () => {
    say('display_yourself sent: the JIT is building the world…')
    const reply = await sock.send({ command: 'send_message', target: 'genesis', selector: 'display_yourself', args: [], intent: 'Display yourself.' })
    say(reply.event === 'error' ? `display_yourself: ${String((reply.error as Json | undefined)?.message ?? '')}` : 'display_yourself answered')
    world.redraw()
  })
  $('inspect-path').addEventListener('submit', (e) => {
    e.preventDefault()
    const text = (($('inspect-path') as HTMLFormElement).elements.namedItem('path') as HTMLInputElement).value.trim()
    if (text !== '') void inspector.open(/^\d+$/.test(text) ? Number(text) : text)
  })
  $('inspect-world').addEventListener('click', () => void inspector.open(WORLD_PATH))
  $('inspect-genesis').addEventListener('click', () => void inspector.open('genesis'))
  window.addEventListener('resize', () => world.fit())
  showStatus()
  sock.start()
}

main()
