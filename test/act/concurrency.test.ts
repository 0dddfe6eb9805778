/**
 * Acts in flight at the same time: each has its own transaction (snapshot
 * isolation), disjoint writers all commit, and writers of the same slot meet
 * first-committer-wins: the loser gets IMAGE_CONFLICT (retryable) and nothing
 * of it is written.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ActError } from '../../src/act/act-error.js'
import type { ActImage } from './fixture.js'
import { actImage } from './fixture.js'

let u: ActImage
beforeEach(async () => {
  u = await actImage()
  await u.act(`for (const k of ['a', 'b', 'c', 'd']) { root[k] = new UvmObject(); root[k].n = 0 }
    root.counter = new UvmObject()
    root.counter.n = 0
    root.talker = new UvmObject()
    root.talker.say = function (what) { print('talker:', what) }`)
})
afterEach(async () => { await u.dispose() })

const withSleep = () => ({ capabilities: { sleep: u.sleep } })

describe('concurrent acts', () => {
  it('acts that each await a timer and write different objects all commit, each with its own output', async () => {
    const keys = ['a', 'b', 'c', 'd']
    const before = u.image.lastTid
    // Later starters finish first: commit order differs from start order.
    const results = await Promise.all(keys.map((k, i) => u.act(
      `print('start ${k}')\nawait sleep(${60 - 15 * i})\nroot.${k}.n = ${i + 1}\nroot.talker.say('${k}')\nreturn '${k}'`, withSleep())))
    expect(results.map((r) => r.value)).toEqual(keys)
    expect(results.map((r) => r.output)).toEqual(keys.map((k) => `start ${k}\ntalker: ${k}\n`))
    const tids = results.map((r) => r.tid!)
    expect(new Set(tids).size).toBe(4)
    expect([...tids].sort((x, y) => x - y)).toEqual([before + 1, before + 2, before + 3, before + 4])
    u.read((tx) => {
      expect(keys.map((k) => tx.root[k].n)).toEqual([1, 2, 3, 4])
      results.forEach((r, i) => expect(r.changed).toEqual([tx.objectOf(tx.root[keys[i]!]).oid]))
    })
  })

  it('an act reads one snapshot, whatever commits while it awaits', async () => {
    const reader = u.act('const first = root.a.n\nawait sleep(60)\nreturn [first, root.a.n]', withSleep())
    await new Promise((r) => setTimeout(r, 10))
    await u.act('root.a.n = 42')
    expect((await reader).value).toEqual([0, 0])
    expect((await u.act('return root.a.n')).value).toBe(42)
  })

  for (const [name, delays] of [['committing together (one group commit)', [30, 30]], ['committing one after the other', [10, 80]]] as const) {
    it(`two acts writing the same slot, ${name}: one gets IMAGE_CONFLICT and nothing of it is written`, async () => {
      const before = await u.tids()
      const writer = (mark: 'a' | 'b', ms: number) => u.act(`const v = root.counter.n
        root.${mark}.hit = true
        root.${mark}.made = new UvmObject()
        await sleep(${ms})
        root.counter.n = v + 1
        print('${mark} wrote')
        return v`, withSleep())
      const settled = await Promise.allSettled([writer('a', delays[0]), writer('b', delays[1])])
      const won = settled.flatMap((s, i) => s.status === 'fulfilled' ? [i] : [])
      expect(won).toHaveLength(1)
      const winner = won[0]!, loser = 1 - winner
      const e = (settled[loser] as PromiseRejectedResult).reason
      expect(e).toBeInstanceOf(ActError)
      expect([e.code, e.retryable, e.output]).toEqual(['IMAGE_CONFLICT', true, `${'ab'[loser]} wrote\n`])
      const counterOid = u.read((tx) => tx.objectOf(tx.root.counter).oid)
      expect(e.details.oids).toContain(counterOid)
      expect(await u.tids()).toEqual([(settled[winner] as PromiseFulfilledResult<{ tid: number }>).value.tid, ...before])
      const [w, l] = ['ab'[winner]!, 'ab'[loser]!]
      expect(u.read((tx) => [tx.root.counter.n, tx.root[w].hit, tx.root[w].hasSlot('made'), tx.root[l].hasSlot('hit'), tx.root[l].hasSlot('made')]))
        .toEqual([1, true, true, false, false])
      // Retryable: the same act again, in a new transaction, commits.
      expect((await writer(l as 'a' | 'b', 1)).value).toBe(1)
      expect(u.read((tx) => [tx.root.counter.n, tx.root[l].hit])).toEqual([2, true])
    })
  }

  it('an act conflicting with a host commit made while it awaited gets IMAGE_CONFLICT', async () => {
    const act = u.act('const v = root.counter.n\nawait sleep(50)\nroot.counter.n = v + 10\nroot.a.n = 7', withSleep())
    await new Promise((r) => setTimeout(r, 10))
    await u.image.transact((tx) => { tx.root.counter.n = 100 })
    const e = await act.then(() => undefined, (x) => x)
    expect([e?.code, e?.retryable]).toEqual(['IMAGE_CONFLICT', true])
    expect(u.read((tx) => [tx.root.counter.n, tx.root.a.n])).toEqual([100, 0])
  })
})
