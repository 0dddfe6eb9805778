/**
 * What clients in other languages send and expect that the covenant's own examples do not show:
 * Pydantic's None for unset optional fields, an act that answers with an object it stored nowhere,
 * and `undo` of a transaction that does not exist. Real loopback sockets, raw DEALER frames.
 */
import { Packr } from 'msgpackr'
import { describe, expect, it } from 'vitest'
import { ask as askRaw, askReply, genesisSlot, json, mp, transactionCount, useBridge } from './support.js'

const b = useBridge()
const ask = (frame: Buffer) => askReply(b.dealer, frame)
/** The reply's payload frame, undecoded. */
const askFrames = async (frame: Buffer) => (await askRaw(b.dealer, frame)).at(-1)!

describe('null in an optional field means absent (Pydantic model_dump sends None)', () => {
  it('get_full_state with id, target, target_uuid and depth all null reads the Genesis Object at depth 1', async () => {
    for (const frame of [mp, json]) {
      const r = await ask(frame({ command: 'get_full_state', id: null, target: null, target_uuid: null, depth: null }))
      expect(r.event).toBe('uvm_state_update')
      expect(r).not.toHaveProperty('id')
      expect(r.state.$slots.name).toBe('Genesis')
    }
  })

  it('update_property keeps a null property_value: the slot is set to null', async () => {
    const r = await ask(mp({ command: 'update_property', id: 1, target: null, target_uuid: null, property_name: 'nothing', property_value: null }))
    expect(r).toEqual({ event: 'ack', id: 1, tid: expect.any(Number) })
    expect(genesisSlot(b.bridge.image, 'nothing')).toBeNull()
  })

  it('a required field that is null is still refused, with its path', async () => {
    const r = await ask(mp({ command: 'create_method', id: 2, method_name: null, method_code: 'return 1' }))
    expect(r.error).toMatchObject({ code: 'invalid_command', issues: [expect.objectContaining({ path: ['method_name'] })] })
  })
})

describe('an act or send that answers with an object stored nowhere', () => {
  it('run_act shows the object with its slots; nothing is written', async () => {
    const before = await transactionCount(b.bridge.image)
    const r = await ask(mp({ command: 'run_act', id: 3, code: 'const o = new UvmObject(); o.x = 1; o.list = [1, 2]; return o' }))
    expect(r).toMatchObject({ event: 'result', id: 3, value: { $ref: expect.any(Number), $slots: { x: 1, list: [1, 2] } } })
    expect(r).not.toHaveProperty('tid')
    expect(await transactionCount(b.bridge.image)).toBe(before)
  })

  it('send_message to a method that makes one shows it too, beside what the send stored', async () => {
    await ask(mp({ command: 'create_method', method_name: 'make', method_code: 'const o = self.clone(); o.n = args[0]; self.made = (self.made ?? 0) + 1; return o' }))
    const r = await ask(mp({ command: 'send_message', id: 4, selector: 'make', args: [7] }))
    expect(r).toMatchObject({ event: 'result', id: 4, tid: expect.any(Number), value: { $ref: expect.any(Number), $slots: { n: 7 } } })
    expect(genesisSlot(b.bridge.image, 'made')).toBe(1)
  })

  it('an array mutated in place shows its new contents in the reply, as committed', async () => {
    await ask(mp({ command: 'update_property', property_name: 'items', property_value: [1] }))
    const r = await ask(mp({ command: 'run_act', code: 'genesis.items.push(2); return genesis' }))
    expect(r.value.$slots.items).toEqual([1, 2])
    expect(genesisSlot(b.bridge.image, 'items')).toEqual([1, 2])
  })
})

it('undo of a transaction the image has no record of: unknown_target, nothing written', async () => {
  const before = await transactionCount(b.bridge.image)
  const r = await ask(mp({ command: 'undo', id: 5, tid: 99_999 }))
  expect(r.error).toMatchObject({ code: 'unknown_target', message: expect.stringContaining('no transaction 99999') })
  expect(await transactionCount(b.bridge.image)).toBe(before)
})

describe('MessagePack integers stay integers', () => {
  it('a number past 32 bits (a time in ms, 2**40) goes out as a MessagePack int64, not a float64', async () => {
    await ask(mp({ command: 'update_property', property_name: 'big', property_value: 2 ** 40 }))
    const frame = (await askFrames(mp({ command: 'get_full_state' })))
    // msgpackr's default reads int64 as a bigint and float64 as a number: the type tells how it was written.
    const state = new Packr({ useRecords: false, mapsAsObjects: true }).unpack(frame).state
    expect(state.$slots.big).toBe(2n ** 40n)
    const history = new Packr({ useRecords: false, mapsAsObjects: true }).unpack(await askFrames(mp({ command: 'history', limit: 1 })))
    expect(typeof history.transactions[0].time).toBe('bigint')
    // Through the covenant's own codec (and the typed client) they read back as numbers.
    expect((await ask(mp({ command: 'get_full_state' }))).state.$slots.big).toBe(2 ** 40)
  })
})

it('a {"$method"} value with a syntax error is answered syntax_error, nothing written', async () => {
  const before = await transactionCount(b.bridge.image)
  const r = await ask(mp({ command: 'update_property', property_name: 'greet', property_value: { $method: 'return (' } }))
  expect(r.error).toMatchObject({ code: 'syntax_error', line: 1 })
  expect(await transactionCount(b.bridge.image)).toBe(before)
})
