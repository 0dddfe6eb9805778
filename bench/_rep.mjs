import { MemoryLevel } from 'memory-level'
import { importDist, loadRealm } from './lib.mjs'
const { Image } = await importDist('image/index.js')
const realm = await loadRealm()
const image = await Image.open(new MemoryLevel({ keyEncoding: 'utf8', valueEncoding: 'view' }), { realm: realm.make(), durable: false })
{
  const tx = image.begin(); const P = tx.genesis.prototypes
  const p3 = P.clone(); p3.m = function (i) { return i + 1 }; p3.x = 4
  p3.enter = function (f, n) { return f(n) }
  p3.noop = function () { return 0 }
  const p2 = p3.clone(), p1 = p2.clone(); const rs = []
  for (let k = 0; k < 16; k++) { const r = p1.clone(); r.own = k; rs.push(r) }
  p3.targets = rs; P.B = p3; await tx.commit()
}
const tx = image.begin(); const p3 = tx.objectOf(tx.genesis.prototypes.B); const recv = [...tx.genesis.prototypes.B.targets].map(p => tx.objectOf(p))
const k = image.kernel
let N = 0
const loop = image.kernel.realm.hostFunction('l', () => { let s = 0; for (let i = 0; i < N; i++) s += k.send(tx, recv[i & 15], 'm', [i]); return s })
const mode = process.argv[2] || 'plain'
if (mode === 'entries') { // mimic dispatch: many depth-0 entries first
  for (let i = 0; i < 3000; i++) k.send(tx, recv[i & 15], 'm', [i])
}
const out = []
for (let r = 0; r < 12; r++) { N = 200000; const t = performance.now(); k.send(tx, p3, 'enter', [loop, N]); out.push(((performance.now() - t) / N * 1e6).toFixed(0)) }
console.log(mode, out.join(' '))
