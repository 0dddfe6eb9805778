import { describe } from 'vitest'
import type { Backend } from '../support/images.js'
import { basicConformance } from './conformance/basic.js'
import { checkConformance } from './conformance/check.js'
import { historyConformance } from './conformance/history.js'
import { packConformance } from './conformance/pack.js'
import { persistenceConformance } from './conformance/persistence.js'
import { revisionConformance } from './conformance/revision.js'
import { synchronizationConformance } from './conformance/synchronization.js'
import { undoConformance } from './conformance/undo.js'

/**
 * The storage conformance suite: everything the image promises about storage,
 * run unchanged against each abstract-level backend (in the spirit of
 * abstract-level's shared test suite and ZODB's storage test mixins).
 */
export function describeImageConformance(backend: Backend): void {
  describe(`image conformance on ${backend}`, () => {
    describe('Basic: commit, abort, savepoints, identity, reachability', () => basicConformance(backend))
    describe('Persistence: values, slots, parents and methods across reopen', () => persistenceConformance(backend))
    describe('Revision: loadBefore', () => revisionConformance(backend))
    describe('History: revisions and transaction records', () => historyConformance(backend))
    describe('Undo', () => undoConformance(backend))
    describe('Pack', () => packConformance(backend))
    describe('Check', () => checkConformance(backend))
    describe('Synchronization: isolation, snapshots, conflicts, group commit', () => synchronizationConformance(backend))
  })
}
