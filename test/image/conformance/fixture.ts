import { afterEach, beforeEach } from 'vitest'
import type { Image, ImageOptions } from '../../../src/image/index.js'
import type { Backend } from '../../support/images.js'
import { scratchImage } from '../../support/images.js'

export type Scratch = Awaited<ReturnType<typeof scratchImage>>

/** A fresh image on `backend` for every test of the enclosing describe, disposed after it. */
export function freshImagePerTest(backend: Backend, opts: Partial<ImageOptions> = {}) {
  let scratch: Scratch | undefined
  beforeEach(async () => {
    scratch = await scratchImage(backend, opts)
  })
  afterEach(async () => {
    await scratch?.dispose()
    scratch = undefined
  })
  return {
    get scratch(): Scratch { return scratch! },
    get image(): Image { return scratch!.image },
    reopen: (): Promise<Image> => scratch!.reopen(),
  }
}
