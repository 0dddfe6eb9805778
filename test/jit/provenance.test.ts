// Provenance: every slot a JIT cycle wrote points to the cycle's transaction (State.origins), kept in
// the object's record (format 2), dropped when something else writes the slot, and read by `why`.
import { describe, expect, it } from 'vitest'
import { openImage } from '../../src/index.js'
import { LocalBackend } from '../../src/bridge/index.js'
import { Codec, RECORD_FORMAT, RECORD_FORMAT_ORIGINS } from '../../src/image/codec.js'
import { Obj, State } from '../../src/kernel/index.js'
import { setUpJit } from '../../src/jit/index.js'
import { memoryDb, scratchImage } from '../support/images.js'
import { startFakeLlm } from '../support/fake-llm.js'
import { rejected, useCleanups } from '../support/uvm.js'
import { Packr } from 'msgpackr'

const cleanup = useCleanups()

const COLOR = { explanation: 'A rect paints itself: a paint method and a default colour.', code: "prototypes.Rect.setSlot('paint', function () { return 'painted ' + this.color }); prototypes.Rect.color = 'red'" }

describe('slot origins', () => {
  it('a cycle marks every slot it changed; a plain write to a slot drops its mark, writes to other slots keep theirs', async () => {
    const llm = await startFakeLlm([{ answer: COLOR }])
    const s = await scratchImage('classic-level')
    cleanup(async () => { await s.dispose(); await llm.close() })
    const realm = s.image.kernel.realm as never
    const jit = setUpJit(s.image, realm, { url: llm.url })
    await jit.run('prototypes.Rect = new UvmObject(); prototypes.Rect.width = 1; root.r = prototypes.Rect.clone()', {}, {})
    const r = await jit.run('return root.r.paint()', {}, {})
    expect(r.value).toBe('painted red')
    const tid = r.cycles[0]!.tid
    const origins = async () => {
      const tx = s.image.begin()
      try { return Object.fromEntries(tx.read(tx.objectOf(tx.genesis.prototypes.Rect)).origins ?? []) } finally { tx.abort() }
    }
    expect(await origins()).toEqual({ paint: tid, color: tid })
    await jit.run("prototypes.Rect.width = 2", {}, {})
    expect(await origins()).toEqual({ paint: tid, color: tid })
    await jit.run("prototypes.Rect.color = 'blue'", {}, {})
    expect(await origins()).toEqual({ paint: tid })
    // Through a restart: the record keeps them.
    const image = await s.reopen()
    const tx = image.begin()
    expect(Object.fromEntries(tx.read(tx.objectOf(tx.genesis.prototypes.Rect)).origins ?? [])).toEqual({ paint: tid })
    tx.abort()
  })

  it('why: the JIT cycle for a marked slot, the last writer for any other, a clear error for a missing one', async () => {
    const { image, realm } = await openImage(memoryDb())
    cleanup(() => image.close())
    const backend = new LocalBackend(image, realm)
    const ask = (selector: string, target = 'genesis') => backend.handle({ command: 'why', selector, target }, 'l', { readOnly: false })
    const first = await image.transact((tx) => { tx.genesis.motto = 'first' })
    await image.transact((tx) => { tx.genesis.other = 1 })
    expect(await ask('motto')).toMatchObject({ event: 'provenance', kind: 'data', tid: first.info.tid })
    const second = await image.transact((tx) => { tx.genesis.motto = 'second' }, { meta: { description: 'a new motto' } })
    expect(await ask('motto')).toMatchObject({ tid: second.info.tid, description: 'a new motto' })
    expect(await ask('clone')).toMatchObject({ kind: 'primitive' })
    const e = await rejected(ask('nothing'))
    expect(e.code).toBe('KERNEL_DOES_NOT_UNDERSTAND')
    expect(e.message).toMatch(/no slot by that name/)
  })
})

describe('record format 2 (slot origins)', () => {
  const handles = new Map<number, Obj>()
  const codec = new Codec((oid) => handles.get(oid) ?? (handles.set(oid, new Obj(oid)), handles.get(oid)!))

  it('is written only for a state with origins, by both encoders alike, and read back', () => {
    const plain = new State(new Map([['a', 1]]))
    expect(new Packr({ useRecords: false }).unpack(codec.encodeState(plain, 5, 0))[0]).toBe(RECORD_FORMAT)
    const marked = new State(new Map<string, never>([['a', 1 as never], ['m', 'x' as never]]))
    marked.origins = new Map([['a', 5]])
    const fast = codec.encodeState(marked, 5, 0)
    expect(Buffer.from(fast)).toEqual(Buffer.from(codec.encodeStateGeneric(marked, 5, 0)))
    const back = codec.decodeState(fast, 1)
    expect(new Packr({ useRecords: false }).unpack(fast)[0]).toBe(RECORD_FORMAT_ORIGINS)
    expect([...back.origins!]).toEqual([['a', 5]])
    expect([...back.slots]).toEqual([['a', 1], ['m', 'x']])
  })

  it('a damaged origins list is IMAGE_CORRUPT naming the object', () => {
    const p = new Packr({ useRecords: false })
    for (const rec of [[2, 1, 0, 'nope', 'a', 1], [2, 1, 0, ['a'], 'a', 1], [2, 1, 0, [1, 'a'], 'a', 1], [2, 1, 0]]) {
      let err: unknown
      try { codec.decodeState(p.pack(rec), 9) } catch (e) { err = e }
      if (rec.length === 4) { expect(err).toBeUndefined(); continue }
      expect((err as { code: string }).code).toBe('IMAGE_CORRUPT')
      expect((err as Error).message).toMatch(/object #9/)
    }
  })
})
