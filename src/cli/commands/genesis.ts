import { resolve } from 'node:path'
import { openLocal } from '../image-access.js'
import { VERSION } from '../../version.js'
import { chapterRange, parse } from '../args.js'
import { progressBar } from '../progress.js'
import type { CommandSpec } from '../usage.js'
import { UsageError } from '../usage.js'

/** `uvm genesis`: replay the Grand Narrative into an image (the daemon must be stopped). */
export const genesis: CommandSpec = {
  name: 'genesis',
  summary: 'replay the curriculum (genesis/) into the image: the conversations it lacks, chapter by chapter',
  usage: 'uvm genesis [--image PATH] [--chapters 1-3] [--curriculum DIR] [--list]',
  options: [
    ['--image PATH', 'the image folder, created when missing (env UVM_IMAGE; default ./image.db); the daemon must be stopped'],
    ['--chapters N-M', 'which chapters (default all); conversations the image already holds are skipped'],
    ['--curriculum DIR', 'the curriculum folder (env UVM_CURRICULUM; default the genesis/ that ships)'],
    ['--forge-dir DIR', 'where the forge capability writes fine-tuning jobs (env UVM_FORGE_DIR; default forge-jobs beside the image)'],
    ['--list', 'list the chapters and what each teaches; replay nothing'],
  ],
  async run(argv, io) {
    const { values, positionals } = parse(argv, { image: { type: 'string' }, chapters: { type: 'string' }, curriculum: { type: 'string' }, 'forge-dir': { type: 'string' }, list: { type: 'boolean' } }, 'genesis')
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}" (chapters go in --chapters, e.g. --chapters 1-3)`, 'genesis')
    const range = chapterRange(values.chapters, 'genesis')
    const { Curriculum, replayCurriculum } = await import('../../genesis/index.js')
    const dir = values.curriculum ?? io.env.UVM_CURRICULUM
    const curriculum = Curriculum.load(dir === undefined ? undefined : resolve(dir))
    const chapters = [...new Map(curriculum.chapters(range.from, range.to).map((c) => [c.chapter, c.chapterName])).entries()]
    if (chapters.length === 0) throw new UsageError(`the curriculum in ${curriculum.dir} has no chapter ${values.chapters ?? ''}`.trim(), 'genesis')
    if (values.list === true) {
      for (const [n, name] of chapters) {
        const convs = curriculum.chapters(n, n)
        const taught = [...new Set(convs.flatMap((c) => c.teaches))]
        const shown = taught.length > 12 ? `${taught.slice(0, 12).join(', ')}, and ${taught.length - 12} more` : taught.join(', ') || 'nothing'
        io.out(`${String(n).padStart(2)} ${name}: ${convs.length} conversations, ${convs.reduce((a, c) => a + c.turns.length, 0)} turns; teaches ${shown}`)
      }
      return 0
    }
    const path = resolve(values.image ?? io.env.UVM_IMAGE ?? './image.db')
    const { defaultForgeDir, startServices } = await import('../../daemon/index.js')
    const { image, realm } = await openLocal(path, 'genesis')
    try {
      const forgeDir = resolve(values['forge-dir'] ?? io.env.UVM_FORGE_DIR ?? defaultForgeDir(path))
      // The acts get the daemon's capabilities (the bridge answers in this process).
      const services = await startServices(image, realm, { version: VERSION, curriculumDir: curriculum.dir, capabilities: { forgeDir } })
      const bar = progressBar(io)
      const t0 = performance.now()
      const r = await replayCurriculum(image, realm, curriculum, {
        ...range,
        capabilities: services.capabilities({}),
        onProgress: (p) => bar(`chapter ${p.conversation.chapter}`, p.done, p.total),
      }).finally(() => { bar.done(); services.jit.stop() })
      const s = ((performance.now() - t0) / 1000).toFixed(1)
      const which = range.from === undefined ? `chapters 1-${chapters.at(-1)![0]}` : range.from === range.to ? `chapter ${range.from}` : `chapters ${range.from}-${range.to}`
      io.out(`genesis: replayed ${r.replayed} conversation${r.replayed === 1 ? '' : 's'} (${r.turns} turns) of ${which} in ${s} s${r.skipped > 0 ? `; ${r.skipped} already in the image` : ''}; image ${path}, last tid ${image.lastTid}`)
      return 0
    } finally {
      await image.close()
    }
  },
}
