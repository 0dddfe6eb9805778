import type { Obj } from '../kernel/index.js'
import { Primitive, primitives, writeSlot } from '../kernel/index.js'
import type { Transaction } from './transaction.js'

/**
 * The objects every image starts with:
 *   root (the lobby)      parent* → traits, genesis, traits
 *   traits                the primitives (clone, setSlot, ...), lobby → root
 *   genesis               the Genesis Object: parent* → traits, prototypes
 *   genesis.prototypes    the namespace prototypes are registered in
 * Everything else is born from genesis/ (the curriculum) or by acts.
 */
export function bootstrap(tx: Transaction): { root: Obj; traits: Obj } {
  const root = tx.create()
  const traits = tx.create()
  const genesis = tx.create()
  const prototypes = tx.create()
  // Own `name` slots make printString say <Genesis #2> rather than <Object #2>.
  writeSlot(tx, root, 'name', 'Lobby')
  writeSlot(tx, traits, 'name', 'Traits')
  writeSlot(tx, genesis, 'name', 'Genesis')
  writeSlot(tx, prototypes, 'name', 'Prototypes')
  for (const name of Object.keys(primitives)) writeSlot(tx, traits, name, new Primitive(name))
  writeSlot(tx, traits, 'lobby', root)
  writeSlot(tx, root, 'parent*', traits)
  writeSlot(tx, root, 'genesis', genesis)
  writeSlot(tx, root, 'traits', traits)
  writeSlot(tx, genesis, 'parent*', traits)
  writeSlot(tx, genesis, 'prototypes', prototypes)
  writeSlot(tx, prototypes, 'parent*', traits)
  return { root, traits }
}
