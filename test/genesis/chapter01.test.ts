import { describe, it, expect } from 'vitest'
import { bareWorld } from './support.js'

describe('scratch', () => {
  it('works', async () => {
    const w = await bareWorld()
    const r = await w.run(`
      const Morph = new UvmObject()
      Morph.bounds = { x: 0, y: 0, width: 100, height: 40 }
      Morph.children = []
      Morph.addMorph = function (m) { const k = this.children; k.push(m); this.children = k; m.owner = this; return m }
      Morph.describe = function () { return { kind: this.kind, bounds: this.bounds, children: this.children.map((c) => c.describe()) } }
      Morph.kind = 'Morph'
      prototypes.Morph = Morph
      const w = Morph.clone(); w.kind = 'World'
      const b = Morph.clone(); b.kind = 'Button'
      w.addMorph(b)
      b.bounds.x = 7
      genesis.world = w
      return [w.printString(), Morph.children.length, w.children.length, w.children.indexOf(b)]
    `)
    console.log(r)
    const r2 = await w.run(`return [genesis.world.describe(), genesis.world.children[0].bounds, prototypes.Morph.bounds]`)
    console.log(JSON.stringify(r2))
    const r3 = await w.run(`genesis.world.ping2 = async function () { return await this.capability('bridge').send({ command: 'create_method', target: 'genesis.world', method_name: 'hello', method_code: 'function () { return 42 }' }) }; return 1`)
    const r4 = await w.run(`return await genesis.world.ping2()`)
    console.log(JSON.stringify(r4))
    const r5 = await w.run(`return genesis.world.hello()`)
    console.log(JSON.stringify(r5))
    const r6 = await w.run(`genesis.pp = function () { print('hi from method'); return this.lobby.genesis.prototypes.Morph.printString() }; return genesis.pp()`)
    console.log(JSON.stringify(r6))
    await w.dispose()
  })
})
