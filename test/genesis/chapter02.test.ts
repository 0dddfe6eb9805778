import { describe, it, expect } from 'vitest'
import { bareWorld } from './support.js'

describe('scratch', () => {
  it('try', async () => {
    const w = await bareWorld()
    const r = await w.run(`
const T = new UvmObject(); const F = new UvmObject(); const N = new UvmObject()
prototypes.True = T; prototypes.False = F; prototypes.Nil = N
genesis.setSlot('asBoolean', function (b) { const p = this.lobby.genesis.prototypes; return { true: p.True, false: p.False }[String(Boolean(b))] })
T.setSlot('ifTrue:', function (b) { return b.value() })
F.setSlot('ifTrue:', function (b) { return this.lobby.genesis.prototypes.Nil })
const B = new UvmObject(); prototypes.Block = B
B.setSlot('with', function (r, s, ...args) { const b = this.clone(); b.receiver = r; b.selector = s; b.args = args; return b })
B.setSlot('value', function () { return this.receiver.perform(this.selector, ...this.args) })
const L = B.clone(); prototypes.WhileLoop = L
L.setSlot('value', function () { this.body.value(); return this.run() })
L.setSlot('run', function () { return this.condition.value()[this.test](this) })
B.setSlot('whileTrue:', function (body) { const l = this.lobby.genesis.prototypes.WhileLoop.clone(); l.condition = this; l.body = body; l.test = 'ifTrue:'; return l.run() })
const acc = new UvmObject(); acc.i = 1; acc.sum = 0; acc.limit = 100
acc.setSlot('more', function () { return this.lobby.genesis.asBoolean(this.i <= this.limit) })
acc.setSlot('step', function () { this.sum = this.sum + this.i; this.i = this.i + 1; return this })
genesis.acc = acc
B.with(acc, 'more').perform('whileTrue:', B.with(acc, 'step'))
return [acc.sum, B.with(acc, 'more').printString(), T.printString(), genesis.asBoolean(0) === F, B.with(acc,'step').args]
`)
    console.log(r)
    for (const n of [1500, 2000, 2500]) {
      const r2 = await w.run(`const acc = genesis.acc; acc.i = 1; acc.sum = 0; acc.limit = ${n}
        prototypes.Block.with(acc, 'more')['whileTrue:'](prototypes.Block.with(acc, 'step')); return acc.sum`).catch((e) => String(e))
      console.log(n, r2)
    }
    await w.dispose()
  })
})
