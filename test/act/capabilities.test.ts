/**
 * Host services reach an act only as explicit capabilities (runAct's
 * opts.capabilities), by name, for that act alone: never ambient.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { UvmError } from '../../src/errors.js'
import { rejected } from '../support/uvm.js'
import type { ActImage } from './fixture.js'
import { actImage } from './fixture.js'

let u: ActImage
beforeEach(async () => { u = await actImage() })
afterEach(async () => { await u.dispose() })

/** A stand-in for an LLM client: a realm object whose `ask` answers later, from a host timer. */
function llmClient(u: ActImage, asked: string[]) {
  const llm = u.realm.newObject()
  llm.ask = u.realm.hostFunction('ask', (_t, [q]) => {
    asked.push(String(q))
    return new Promise((resolve) => setTimeout(() => resolve(`answer to ${q}`), 10))
  })
  return llm
}

describe('capabilities', () => {
  it('a granted service is callable by its name, sync or async, and its results can be stored', async () => {
    const asked: string[] = []
    const r = await u.act('const a = await llm.ask("2+2?")\nroot.answer = a\nreturn [a, clock()]',
      { capabilities: { llm: llmClient(u, asked), clock: u.realm.hostFunction('clock', () => 1234) } })
    expect(r.value).toEqual(['answer to 2+2?', 1234])
    expect(asked).toEqual(['2+2?'])
    expect(u.read((tx) => tx.root.answer)).toBe('answer to 2+2?')
  })

  it('is never ambient: not a global, not seen by the next act, nor by methods unless passed in', async () => {
    const llm = llmClient(u, [])
    const r = await u.act(`root.peek = function () { return typeof llm }
      root.use = async function (client) { return await client.ask('via argument') }
      return [typeof llm, typeof globalThis.llm, Object.getOwnPropertyNames(globalThis).includes('llm'), root.peek(), await root.use(llm)]`,
    { capabilities: { llm } })
    expect(r.value).toEqual(['object', 'undefined', false, 'undefined', 'answer to via argument'])
    expect((await u.act('return [typeof llm, root.peek()]')).value).toEqual(['undefined', 'undefined'])
  })

  it('each act sees only its own grants, even when acts run at the same time', async () => {
    const tag = (name: string) => u.realm.hostFunction('tag', () => name)
    const [a, b] = await Promise.all([
      u.act('await sleep(20)\nreturn [tag(), typeof other]', { capabilities: { sleep: u.sleep, tag: tag('first') } }),
      u.act('await sleep(5)\nreturn [tag(), typeof other]', { capabilities: { sleep: u.sleep, tag: tag('second') } }),
    ])
    expect([a.value, b.value]).toEqual([['first', 'undefined'], ['second', 'undefined']])
  })

  it('refuses reserved names before the act runs', async () => {
    const before = await u.tids()
    for (const name of ['root', 'genesis', 'prototypes', 'print', 'UvmObject', 'self', 'args']) {
      const e = await rejected(u.act('print("ran")\nroot.ran = true', { capabilities: { [name]: u.realm.newObject() } }))
      expect([e.code, e.output]).toEqual(['ACT_FORBIDDEN', ''])
      expect(e.message).toContain(`'${name}'`)
    }
    expect(await u.tids()).toEqual(before)
    expect(u.read((tx) => tx.root.hasSlot('ran'))).toBe(false)
  })

  it('a failing service fails the act as data; the error the act sees is a realm error', async () => {
    const services = {
      broken: u.realm.hostFunction('broken', () => { throw new Error('service down') }),
      closed: u.realm.hostFunction('closed', () => { throw new UvmError('IMAGE_CLOSED', 'no more', { oid: 7 }) }),
      later: u.realm.hostFunction('later', () => Promise.reject(new TypeError('rejected later'))),
    }
    const e1 = await rejected(u.act('root.x = 1\n\nbroken()', { capabilities: services }))
    expect([e1.code, e1.message, e1.details.line]).toEqual(['ACT_FAILED', 'service down', 3])
    const e2 = await rejected(u.act('closed()', { capabilities: services }))
    expect(e2.toJSON()).toMatchObject({ code: 'IMAGE_CLOSED', message: 'no more', oid: 7 })
    const e3 = await rejected(u.act('await later()', { capabilities: services }))
    expect([e3.code, e3.details.name, e3.message]).toEqual(['ACT_FAILED', 'TypeError', 'rejected later'])
    const caught = await u.act(`const seen = []
      for (const f of [broken, closed]) {
        try { f() } catch (e) {
          let reach
          try { reach = typeof e.constructor.constructor('return process')() } catch (x) { reach = 'refused: ' + x.name }
          seen.push([e.message, e.code ?? null, e instanceof Error, reach])
        }
      }
      try { await later() } catch (e) { seen.push([e.message, e.name, e instanceof TypeError]) }
      return seen`, { capabilities: services })
    expect(caught.value).toEqual([
      ['service down', null, true, 'refused: EvalError'],
      ['no more', 'IMAGE_CLOSED', true, 'refused: EvalError'],
      ['rejected later', 'TypeError', true],
    ])
    expect(u.read((tx) => tx.root.hasSlot('x'))).toBe(false)
  })

  it('bind: values made inside the act\'s own transaction (how the bridge binds a send target)', async () => {
    await u.act('root.box = new UvmObject()\nroot.box.n = 1')
    const r = await u.act('target.n = target.n + 1\nreturn target', { bind: (tx) => ({ target: tx.root.box }) })
    expect(r.changed).toEqual([u.image.kernel.objectOf(r.value)!.oid])
    expect(u.read((tx) => tx.root.box.n)).toBe(2)
  })

  it('a plain host function is wrapped (no host Function behind it); a host object is refused', async () => {
    const r = await u.act(`const out = [double(21)]
      try { out.push(typeof double.constructor.constructor('return process')()) } catch (e) { out.push('refused') }
      return out`, { capabilities: { double: (x: unknown) => Number(x) * 2 } })
    expect(r.value).toEqual([42, 'refused'])
    const e = await rejected(() => u.act('return svc.x', { capabilities: { svc: { x: 1 } } }))
    expect((e as UvmError).code).toBe('ACT_FORBIDDEN')
    expect((e as UvmError).message).toMatch(/capability 'svc' is a host object/)
  })
})
