import { UvmError } from '../errors.js'
import type { Transaction } from '../image/index.js'
import type { Obj } from '../kernel/index.js'
import { Obj as ObjClass, lookup } from '../kernel/index.js'
import type { Target } from '../covenant/index.js'

/**
 * The object a command names: a dotted path that starts where an act's names start
 * (`root`, `genesis`, `prototypes`: `prototypes.Dog` is genesis.prototypes.Dog, as in an act;
 * `lobby` is the root too; any other first name is a slot of the root, e.g. `traits`),
 * or `{"$ref": oid}`. Slots are found by delegation, like a send, but nothing runs.
 * Default: the Genesis Object. The one rule for every command's target.
 */
export function resolveTarget(tx: Transaction, target: Target | undefined): Obj {
  if (target === undefined) target = 'genesis'
  if (typeof target !== 'string') {
    const obj = tx.image.handle(target.$ref)
    if (tx.byOid(target.$ref) === undefined) throw unknown(`no object #${target.$ref} in the image`)
    return obj
  }
  const given = target.split('.')
  const parts = given[0] === 'root' || given[0] === 'lobby' ? given.slice(1) : given[0] === 'prototypes' ? ['genesis', ...given] : given
  let obj = tx.image.root
  let i = 0
  for (; i < parts.length; i++) {
    const name = parts[i]!
    const holder = lookup(tx, obj, name)
    const value = holder === undefined ? undefined : tx.read(holder).slots.get(name)
    if (!(value instanceof ObjClass)) {
      const where = parts.slice(0, i).join('.') || 'the root'
      throw unknown(holder === undefined ? `${where} has no slot '${name}' (target "${target}")` : `slot '${name}' of ${where} holds no object (target "${target}")`)
    }
    obj = value
  }
  return obj
}

function unknown(message: string): UvmError {
  return new UvmError('KERNEL_NOT_AN_OBJECT', message, { unknownTarget: true })
}
