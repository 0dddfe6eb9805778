/**
 * Audit class 5: a memory limit per act (--act-memory). Growing past it fails the act with
 * ACT_OUT_OF_MEMORY at its next checkpoint; one allocation past the execution unit's heap cap ends
 * the unit, which the daemon replaces, answering the same. The daemon and its image are unharmed.
 * (A CPU limit long enough that memory, not time, is what runs out.)
 */
import { describe, expect, it } from 'vitest'
import { errorOf, useTarget, valueOf } from './support.js'

const t = useTarget(['--act-memory', '128'], 20_000)

async function committedIntact(): Promise<void> {
  expect(valueOf(await t.act('return genesis.keep'))).toEqual({ n: 42 })
}

describe('memory (--act-memory 128)', () => {
  it('keeps a committed slot to check afterwards', async () => {
    expect(valueOf(await t.act('genesis.keep = { n: 42 }; return 1'))).toBe(1)
  })

  it.each([
    ['a growing hoard of arrays', 'const a = []; for (;;) a.push(new Array(1e5).fill(0))'],
    ['a growing hoard of objects', 'const a = []; for (let i = 0; ; i++) a.push({ i, s: "x" + i })'],
    ['ArrayBuffers (outside the V8 heap)', 'const a = []; for (;;) a.push(new ArrayBuffer(3e7))'],
    ['a 1 GiB ArrayBuffer, held while the act goes on', 'const b = new ArrayBuffer(2 ** 30); let s = 0; for (let i = 0; i < 1e9; i++) s += i; return b.byteLength'],
    ['a 1 GiB ArrayBuffer, returned', 'return new ArrayBuffer(2 ** 30)'],
    ['one native operation allocating past the execution unit\'s heap cap (128 + 512 MiB)', "return JSON.parse('[' + '0,'.repeat(1e8) + '0]').length"],
    ['memory outside the heap filled in one native call (the second audit: 4 GB)', 'return new Uint8Array(4e9).fill(7).length'],
  ])('%s: ACT_OUT_OF_MEMORY, then the daemon serves on with committed data intact', async (_what, code) => {
    const e = errorOf(await t.act(code))
    expect(e.uvm_code).toBe('ACT_OUT_OF_MEMORY')
    expect(e.code).toBe('out_of_memory')
    await t.unharmed()
    await committedIntact()
  })

  it('the audit\'s hoard (45 acts keeping arrays in a global) has nowhere to keep them', async () => {
    for (let i = 0; i < 45; i++) {
      const e = errorOf(await t.act('globalThis.hoard ??= []; const a = new Array(4e5); for (let i = 0; i < 4e5; i++) a[i] = { i }; hoard.push(a)'))
      expect(e.message).toMatch(/not extensible|read only|Cannot/)
    }
    await t.unharmed()
  })

  it('positive control: an act that uses memory well under the limit, again and again', async () => {
    for (let i = 0; i < 10; i++) {
      expect(valueOf(await t.act('const a = new Array(4e5); for (let i = 0; i < 4e5; i++) a[i] = { i }; return a.length'))).toBe(4e5)
    }
  })
})
