import type { CommandSpec } from '../usage.js'
import { UsageError } from '../usage.js'
import { withHint } from '../suggest.js'

// Loaded when run: each pulls in the dataset pipeline, the image and the realm.
const SUBCOMMANDS: Record<string, () => Promise<CommandSpec['run']>> = {
  validate: async () => (await import('./dataset-validate.js')).validateCommand,
  export: async () => (await import('./dataset-export.js')).exportCommand,
  generate: async () => (await import('./dataset-teacher.js')).generateCommand,
  judge: async () => (await import('./dataset-teacher.js')).judgeCommand,
}

/** `uvm dataset`: the training-data pipeline (seed 002 §4, seed 000 part IV). */
export const dataset: CommandSpec = {
  name: 'dataset',
  summary: 'training data: validate JSONL (schema, syntax, logic, execution), export the image\'s history, generate with a teacher LLM, judge',
  usage: [
    'uvm dataset validate FILE.jsonl [--execute] [--base IMAGE] [--out clean.jsonl] [--report report.json] [--jobs N] [--syntax js|python]',
    '       uvm dataset export [--image PATH] [--since TID] [--format uvm|openai|sharegpt] [--out FILE]',
    '       uvm dataset generate --teacher URL --model NAME --count N [--chapter K] [--examples 5-10] [--no-execute] [--out FILE] [--report FILE] [--key KEY] [--timeout S]',
    '       uvm dataset judge FILE --judge URL --model NAME [--min-score S] [--out FILE] [--report FILE] [--key KEY] [--timeout S]',
  ].join('\n'),
  subcommands: Object.keys(SUBCOMMANDS),
  options: [
    ['validate --execute', 'stage 5: replay each conversation into a scratch copy of the base image (default: a fresh genesis image in memory)'],
    ['validate --base IMAGE', 'the base image folder (copied, never written; the daemon must not hold it)'],
    ['validate --out FILE', 'write only the lines that passed'],
    ['validate --report FILE', 'write every line\'s result and the summary as JSON'],
    ['validate --jobs N', 'worker threads for stages 1-4 (default: the core count)'],
    ['validate --syntax python', 'check the acts with Python\'s own ast.parse (one python3 process; env UVM_PYTHON), for datasets in the seeds\' Python form'],
    ['validate --json', 'print the summary as JSON'],
    ['export --image PATH', 'the image to read (env UVM_IMAGE; default ./image.db; the daemon must be stopped)'],
    ['export --since TID', 'only transactions after TID'],
    ['export --format F', 'uvm (the seeds\' schema, the default), openai (messages of system/user/assistant) or sharegpt (conversations of from/value)'],
    ['export --out FILE', 'where to write (default: standard output)'],
    ['generate --teacher URL', 'an OpenAI-compatible server (vLLM, Ollama, llama.cpp, a hosted API); --key or env UVM_LLM_KEY for a Bearer token'],
    ['generate --count N', 'candidates to ask for; each is validated through stages 1-5 and kept only when it passes'],
    ['generate --chapter K', 'the curriculum chapter whose scenarios to expand (default: every chapter in turn)'],
    ['generate --examples N', 'golden conversations of the chapter shown to the teacher as few-shot examples (5 to 10; default 6)'],
    ['generate --no-execute', 'skip stage 5 (keep candidates that pass stages 1-4)'],
    ['generate --out FILE', 'where the accepted conversations go (default: standard output; the summary goes to standard error)'],
    ['generate --timeout S', 'seconds to wait for each answer (also judge)'],
    ['judge --judge URL', 'the judge\'s server; --model names its model'],
    ['judge --min-score S', 'keep only conversations whose every score is at least S (1-5)'],
    ['judge --out FILE', 'where the kept conversations go, with their scores in meta.judge (default: standard output)'],
  ],
  async run(argv, io) {
    const [sub, ...rest] = argv
    if (sub === undefined) throw new UsageError('missing the subcommand: uvm dataset validate | export | generate | judge', 'dataset')
    const load = Object.hasOwn(SUBCOMMANDS, sub) ? SUBCOMMANDS[sub] : undefined
    if (load === undefined) throw new UsageError(withHint(`unknown subcommand "${sub}" (there are validate, export, generate and judge)`, sub, Object.keys(SUBCOMMANDS)), 'dataset')
    return (await load())(rest, io)
  },
}
