// Undo judged by state (ZODB's rule): an object may be put back when it holds exactly what the
// undone transaction wrote, whatever transactions came between; a real conflict is refused with a
// hint that names the transactions to undo first only when undoing them brings that state back.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Image } from '../../src/image/index.js'
import { scratchImage } from '../support/images.js'
import type { ScratchImage } from '../support/images.js'
import { rejected } from '../support/uvm.js'

let scratch: ScratchImage
let image: Image
beforeEach(async () => { scratch = await scratchImage('memory-level'); image = scratch.image })
afterEach(async () => { await scratch.dispose() })

const commit = async (work: (root: Record<string, any>) => void): Promise<number> => (await image.transact((tx) => work(tx.root))).info.tid!
const undo = async (tid: number): Promise<number> => (await image.undo(tid)).tid!
const read = <T>(f: (root: Record<string, any>) => T): T => {
  const tx = image.begin()
  try { return f(tx.root) } finally { tx.abort() }
}
const slots = (path: (root: Record<string, any>) => Record<string, any>) => read((r) => Array.from(path(r).slotNames() as Iterable<string>))

/** The transactions a refusal says to undo first (undefined: it names none). */
function hinted(message: string): number[] | undefined {
  const m = /; undo transactions? ([\d, and]+) first/.exec(message)
  return m ? m[1]!.split(/, | and /).map(Number) : undefined
}

/**
 * The README tour's shape: an act adds prototypes.NoteMorph (the object is changed by it and a new
 * one made), something else happens, a later act adds prototypes.Sticky to the same object, and
 * something else again.
 */
async function tour(): Promise<{ note: number; sticky: number }> {
  await commit((r) => { r.protos = r.clone(); r.protos.Morph = r.clone() })
  const note = await commit((r) => { r.protos.NoteMorph = r.protos.Morph.clone() })
  await commit((r) => { r.label = 'elsewhere' })
  const sticky = await commit((r) => { r.protos.Sticky = r.protos.Morph.clone() })
  await commit((r) => { r.label = 'elsewhere again' })
  return { note, sticky }
}

describe('undo by state', () => {
  it('undo of a later change, then of the earlier one (the refusal of issue 17: "changed again by transaction 10")', async () => {
    const { note, sticky } = await tour()
    await undo(sticky)
    // The object holds again what `note` wrote: its tid is the undo's, but its state is the same.
    const u = await undo(note)
    expect(u).toBe(image.lastTid)
    expect(slots((r) => r.protos)).toEqual(['parent*', 'Morph'])
    expect(read((r) => r.label)).toBe('elsewhere again')
  })

  it('undo, redo (undo of the undo), then the earlier one: the hint names the redo, and following it works', async () => {
    const { note, sticky } = await tour()
    const u1 = await undo(sticky)
    const redo = await undo(u1)
    expect(slots((r) => r.protos)).toEqual(['parent*', 'Morph', 'NoteMorph', 'Sticky'])
    const lastTid = image.lastTid
    const e = await rejected(image.undo(note))
    expect(e.code).toBe('IMAGE_UNDO_REFUSED')
    expect(e.message).toMatch(new RegExp(`^cannot undo transaction ${note}: object #\\d+ no longer holds what it wrote \\(transaction ${redo} changed it since\\); undo transaction ${redo} first$`))
    expect(image.lastTid).toBe(lastTid) // a refusal writes nothing
    await undo(redo)
    await undo(note)
    expect(slots((r) => r.protos)).toEqual(['parent*', 'Morph'])
  })

  it('an undo and its redo, again and again: undo of the earlier one always works once the states line up', async () => {
    const { note, sticky } = await tour()
    let last = sticky
    for (let i = 0; i < 4; i++) last = await undo(last) // undo, redo, undo, redo
    last = await undo(last) // undone: the object holds what `note` wrote
    await undo(note)
    expect(slots((r) => r.protos)).toEqual(['parent*', 'Morph'])
  })

  it('a real conflict (a later transaction changed another slot of the object) is refused; its hint leads to the undo', async () => {
    const t1 = await commit((r) => { r.x = 1 })
    const t2 = await commit((r) => { r.y = 2 })
    const e = await rejected(image.undo(t1))
    expect(e.message).toBe(`cannot undo transaction ${t1}: object #${image.root.oid} no longer holds what it wrote (transaction ${t2} changed it since); undo transaction ${t2} first`)
    expect(hinted(e.message)).toEqual([t2])
    await undo(t2)
    await undo(t1)
    expect(read((r) => [r.hasSlot('x'), r.hasSlot('y')])).toEqual([false, false])
  })

  it('several later changes: the hint lists them newest first, and undoing them in that order works', async () => {
    const t1 = await commit((r) => { r.x = 1 })
    const t2 = await commit((r) => { r.x = 2 })
    const t3 = await commit((r) => { r.x = 3 })
    const e = await rejected(image.undo(t1))
    expect(e.message).toMatch(new RegExp(`; undo transactions ${t3} and ${t2} first, newest first$`))
    for (const t of hinted(e.message)!) await undo(t)
    expect(read((r) => r.x)).toBe(1)
    await undo(t1)
    expect(read((r) => r.hasSlot('x'))).toBe(false)
  })

  it('the hint skips what already came back: only the transactions after the newest revision that matches', async () => {
    const t1 = await commit((r) => { r.x = 1 })
    const t2 = await commit((r) => { r.x = 2 })
    await undo(t2) // x = 1 again: the object holds what t1 wrote
    const t4 = await commit((r) => { r.x = 4 })
    const e = await rejected(image.undo(t1))
    expect(hinted(e.message)).toEqual([t4])
  })

  it('following the hints always ends in the undo, in a few steps, across objects', async () => {
    const t1 = await commit((r) => { r.a = r.clone(); r.b = r.clone(); r.a.v = 1; r.b.v = 1 })
    await commit((r) => { r.a.v = 2 })
    const t3 = await commit((r) => { r.b.v = 2; r.a.w = 1 })
    const u = await undo(t3)
    await undo(u) // redo
    await commit((r) => { r.b.v = 3 })
    // t1 created a and b: undoing it puts the root back; nothing conflicts there.
    const target = await commit((r) => { r.a.v = 10; r.b.v = 10 })
    await commit((r) => { r.a.v = 11 })
    await commit((r) => { r.b.w = 12 })
    const seen: string[] = []
    for (let step = 0; ; step++) {
      expect(step, seen.join('\n')).toBeLessThan(6)
      try {
        await image.undo(target)
        break
      } catch (e) {
        const msg = (e as Error).message
        expect(seen, 'the same refusal twice: the hint loops').not.toContain(msg)
        seen.push(msg)
        const first = hinted(msg)
        expect(first, msg).toBeDefined()
        for (const t of first!) await undo(t)
      }
    }
    expect(read((r) => [r.a.v, r.b.v])).toEqual([2, 3])
    expect(t1).toBeLessThan(target)
  })

  it('an undo already done is said so, with no hint', async () => {
    const t1 = await commit((r) => { r.x = 1 })
    const u = await undo(t1)
    const e = await rejected(image.undo(t1))
    expect(e.message).toBe(`cannot undo transaction ${t1}: it is undone already: object #${image.root.oid} holds what it held before it again (since transaction ${u})`)
    expect(hinted(e.message)).toBeUndefined()
  })

  it('when pack took the revision it wrote, the refusal says so and names nothing to undo first', async () => {
    const t1 = await commit((r) => { r.x = 1 })
    await commit((r) => { r.x = 2 })
    await image.pack()
    const e = await rejected(image.undo(t1))
    expect(e.code).toBe('IMAGE_UNDO_REFUSED')
    expect(e.message).toMatch(/packed away/)
    expect(hinted(e.message)).toBeUndefined()
  })

  it('a transaction begun before the undo still conflicts with it on commit (state undo changes nothing about isolation)', async () => {
    const t1 = await commit((r) => { r.x = 1 })
    await undo(await commit((r) => { r.x = 2 }))
    const racing = image.begin()
    racing.root.x = 5
    await undo(t1)
    expect((await rejected(racing.commit())).code).toBe('IMAGE_CONFLICT')
  })

  it('the hint is the shortest way: an undo that put the object back to an earlier state needs only that one undone (issue 17 fix2)', async () => {
    const t13 = await commit((r) => { r.P = 1 })
    const t14 = await commit((r) => { r.Q = 1 })
    const t15 = await commit((r) => { r.R = 1 })
    await undo(t15) // the root holds what t14 wrote again
    const e = await rejected(image.undo(t13))
    expect(e.message).toMatch(new RegExp(`; undo transaction ${t14} first$`))
    await undo(t14)
    await undo(t13)
    expect(read((r) => [r.hasSlot('P'), r.hasSlot('Q'), r.hasSlot('R')])).toEqual([false, false, false])
  })

  it('undo of the transaction that made the image is refused, writing nothing', async () => {
    const lastTid = image.lastTid
    const e = await rejected(image.undo(1))
    expect(e.code).toBe('IMAGE_UNDO_REFUSED')
    expect(e.message).toBe('cannot undo transaction 1: transaction 1 made the image (its root objects): there is nothing before it to put back')
    expect(image.lastTid).toBe(lastTid)
  })
})
