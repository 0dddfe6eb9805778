// showTransaction (`uvm show`, the REPL's `.show`): each object a transaction wrote, its slots before and after.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Image } from '../../src/image/index.js'
import { showTransaction } from '../../src/image/index.js'
import { scratchImage } from '../support/images.js'
import type { ScratchImage } from '../support/images.js'

let scratch: ScratchImage
let image: Image
beforeEach(async () => { scratch = await scratchImage('memory-level'); image = scratch.image })
afterEach(async () => { await scratch.dispose() })

const commit = async (work: (root: Record<string, any>) => void, description?: string): Promise<number> =>
  (await image.transact((tx) => work(tx.root), { meta: { ...(description !== undefined && { description }) } })).info.tid!

describe('showTransaction', () => {
  it('a change: the revision before (loadBefore) and the one it wrote, with the transaction record', async () => {
    const made = await commit((r) => { r.thing = r.clone(); r.thing.name = 'Thing'; r.thing.size = 1 })
    const tid = await commit((r) => { r.thing.size = 2; r.thing.greet = function () { return 'hi' }; r.thing.removeSlot('name') }, 'grow')
    const oid = image.begin().objectOf((image.begin().root as Record<string, any>).thing).oid
    const c = (await showTransaction(image, tid))!
    expect(c.transaction).toMatchObject({ tid, description: 'grow', oids: [oid] })
    expect(c.objects).toEqual([{
      oid,
      created: false,
      beforeTid: made,
      before: { 'parent*': { $ref: image.root.oid }, name: 'Thing', size: 1 },
      after: { 'parent*': { $ref: image.root.oid }, size: 2, greet: { $method: expect.stringMatching(/^function ?\(\) \{[\s\S]*hi/) } },
    }])
    expect(c.names[oid]).toBe(`<Object #${oid}>`)
    expect(c.names[image.root.oid]).toMatch(/^<\w+ #0>$/)
    expect(await image.show(tid)).toEqual(c)
  })

  it('a transaction that created objects shows them as created, with no before', async () => {
    const tid = await commit((r) => { r.kid = r.clone(); r.kid.x = 1 })
    const c = (await showTransaction(image, tid))!
    expect(c.objects).toHaveLength(2)
    expect(c.objects[0]).toMatchObject({ oid: image.root.oid, created: false, beforeTid: expect.any(Number) })
    expect(c.objects[1]).toMatchObject({ created: true, after: { x: 1 } })
    expect(c.objects[1]).not.toHaveProperty('before')
  })

  it('after pack: what is gone is marked packed, never guessed', async () => {
    const t1 = await commit((r) => { r.x = 1 })
    const t2 = await commit((r) => { r.x = 2 })
    await image.pack()
    const c1 = (await showTransaction(image, t1))!
    expect(c1.objects).toEqual([{ oid: image.root.oid, created: false, packed: true }])
    const c2 = (await showTransaction(image, t2))!
    expect(c2.objects).toEqual([{ oid: image.root.oid, created: false, packed: true, after: expect.objectContaining({ x: 2 }) }])
  })

  it('an unknown tid is undefined', async () => {
    expect(await showTransaction(image, 4242)).toBeUndefined()
  })
})
