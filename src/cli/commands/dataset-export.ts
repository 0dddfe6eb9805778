import { existsSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { openImage } from '../../index.js'
import { EXPORT_FORMATS, exportHistory, FileWriter, formatLine } from '../../dataset/index.js'
import type { ExportFormat } from '../../dataset/index.js'
import { systemPart } from '../../jit/index.js'
import { intOption, parse } from '../args.js'
import type { Io } from '../usage.js'
import { UsageError } from '../usage.js'

/** `uvm dataset export`: the image's history as training conversations. */
export async function exportCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, { image: { type: 'string' }, since: { type: 'string' }, format: { type: 'string' }, out: { type: 'string' } }, 'dataset')
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}" (the image goes in --image PATH)`, 'dataset')
  const format = (values.format ?? 'uvm') as ExportFormat
  if (!EXPORT_FORMATS.includes(format)) throw new UsageError(`--format takes ${EXPORT_FORMATS.join(', ')}; got "${values.format}"`, 'dataset')
  const since = intOption(values.since, 'since', 'dataset', 0)
  const path = resolve(values.image ?? io.env.UVM_IMAGE ?? './image.db')
  // Export reads: a missing folder is a mistake to report, not an image to create.
  if (!existsSync(path)) throw new UsageError(`no image at ${path} (give --image PATH, or set UVM_IMAGE)`, 'dataset')
  // Nor is a folder without one: opening it would make an image there.
  if (!statSync(path).isDirectory()) throw new UsageError(`${path} is a file; an image is a folder (give --image PATH, or set UVM_IMAGE)`, 'dataset')
  if (!existsSync(join(path, 'CURRENT'))) throw new UsageError(`no image at ${path}: the folder holds none (give --image PATH, or set UVM_IMAGE)`, 'dataset')
  const { image } = await openImage(path)
  try {
    if (since !== undefined && since > image.lastTid) throw new UsageError(`--since ${since} is past the image's last transaction (${image.lastTid})`, 'dataset')
    const { lines, report } = await exportHistory(image, { ...(since !== undefined && { since }), source: `image ${path}` })
    const system = systemPart()
    const text = lines.map((l) => JSON.stringify(formatLine(l, format, system))).join('\n') + (lines.length > 0 ? '\n' : '')
    if (values.out !== undefined) {
      const w = await FileWriter.open(values.out)
      await w.write(text)
      await w.close()
    } else process.stdout.write(text)
    const skipped = Object.entries(report.skipped).map(([why, n]) => `${n} ${why}`).join(', ')
    io.err(`exported ${report.conversations} conversation${report.conversations === 1 ? '' : 's'} (${report.turns} turn${report.turns === 1 ? '' : 's'}) as ${format} from ${path}${values.out !== undefined ? ` to ${values.out}` : ''}${skipped ? `; left out: ${skipped}` : ''}`)
    return 0
  } finally {
    await image.close()
  }
}
