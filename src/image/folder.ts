import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { UvmError } from '../errors.js'

/** What a path names, for a command that opens an image there: nothing yet, an empty folder, or an image. */
export type ImageFolder = 'missing' | 'empty' | 'image'

/**
 * Where an image may be opened or created: a missing path, an empty folder, or a folder holding a
 * LevelDB database (its CURRENT file). Anything else is refused, and before LevelDB sees it: LevelDB
 * writes LOCK and LOG into any folder it opens, even one it then refuses. (Whether a database is a
 * UVM image is Image.open's question: its metadata.)
 */
export function imageFolder(path: string): ImageFolder {
  let isDir: boolean
  try {
    isDir = statSync(path).isDirectory()
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') return 'missing'
    throw new UvmError('IMAGE_BAD_FORMAT', `cannot open image ${path}: ${(e as Error).message}`, { path })
  }
  if (!isDir) throw new UvmError('IMAGE_BAD_FORMAT', `cannot open image ${path}: it is a file, and an image is a folder (give another path)`, { path })
  const entries = readdirSync(path)
  if (entries.includes('CURRENT')) return 'image'
  if (entries.length === 0) return 'empty'
  const shown = entries.sort().slice(0, 3).join(', ') + (entries.length > 3 ? `, and ${entries.length - 3} more` : '')
  throw new UvmError('IMAGE_BAD_FORMAT', `${path} is a folder that holds other files (${shown}) and no image (no LevelDB CURRENT file): refusing to write an image into it; give a new or empty folder, or the folder of an existing image`, { path })
}
