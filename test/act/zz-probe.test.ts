import { it, expect } from 'vitest'
import { actImage } from './fixture.js'

it('probe', async () => {
  const u = await actImage()
  const r = await u.act(`const a = [1, 2]
  Object.defineProperty(a, 'slice', { value: () => { const b = []; Object.defineProperty(b, 'map', { value: () => ({ get x() { for (;;) {} }, y: 1 }) }); return b } })
  return a`)
  const v = r.value as any
  console.log(Object.keys(v), Array.isArray(v), Object.getOwnPropertyDescriptor(v, 'x'))
  await u.dispose()
})
