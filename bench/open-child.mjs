// Child process for bench/open.mjs's crash measurement (not a benchmark by itself):
// opens the image given as argv[2], commits small changes in a loop (each durable),
// prints "ready" after the first ones, and keeps committing until it is SIGKILLed.
import { importDist, loadRealm } from './lib.mjs'

const location = process.argv[2]
if (location === undefined) {
  console.error('usage: node bench/open-child.mjs <image folder>   (a helper of bench/open.mjs; commits until killed)')
  process.exit(2)
}
const { Image } = await importDist('image/index.js')
const realm = await loadRealm()
const image = await Image.open(location, { realm: realm.make(), durable: true })
let i = 0
for (;;) {
  const tx = image.begin({ description: 'bench: crash child' })
  tx.root.bulk.crashCounter = ++i
  await tx.commit()
  if (i === 20) process.stdout.write('ready\n')
}
