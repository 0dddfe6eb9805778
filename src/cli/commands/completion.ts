import { parse } from '../args.js'
import type { CommandSpec } from '../usage.js'
import { UsageError } from '../usage.js'
import { withHint } from '../suggest.js'

const SHELLS = ['bash', 'zsh'] as const

/** What a word after a flag may be: one of some choices, or anything (a path, a number: left to the shell). */
type Value = string[] | 'any'

interface Words {
  flags: string[]
  /** Flags that take a value, and what it may be. */
  values: Map<string, Value>
}

interface Completable extends Words {
  name: string
  /** Words for the first positional: subcommands, or the choices a command takes (`uvm completion bash`). */
  subcommands: Map<string, Words>
  positional: string[]
}

const FLAG = /(?:^|[\s,[(|])(--?[A-Za-z][\w-]*)(?:[ =]([A-Za-z0-9.|/-]+))?/g

/** The flags in help text or a usage line: `--format uvm|openai|sharegpt` gives its choices, `--image PATH` a value. */
function flagsOf(texts: string[], into: Words = { flags: [], values: new Map() }): Words {
  for (const text of texts) {
    for (const m of text.matchAll(FLAG)) {
      const [, flag, value] = m
      if (!into.flags.includes(flag!)) into.flags.push(flag!)
      if (value === undefined || value.startsWith('-')) continue
      // Lower-case words joined by | are choices; a placeholder in capitals (PATH, N, TID|AGE) is anything.
      const choices = /^[a-z][\w-]*(\|[a-z][\w-]*)+$/.test(value) ? value.split('|') : undefined
      if (choices) into.values.set(flag!, choices)
      else if (/^[A-Z0-9][\w.|-]*$/.test(value) && !into.values.has(flag!)) into.values.set(flag!, 'any')
    }
  }
  return into
}

/** Each command's words, read from its spec: the help's option column and its usage lines. */
function model(commands: CommandSpec[]): Completable[] {
  return commands.map((c) => {
    const subs = new Map<string, Words>()
    for (const sub of c.subcommands ?? []) {
      const usage = c.usage.split('\n').filter((l) => new RegExp(`\\buvm ${c.name} ${sub}\\b`).test(l))
      // `validate --execute` is validate's; an entry without a subcommand in front is every subcommand's.
      const help = c.options.filter(([f]) => f.startsWith(`${sub} `) || f.startsWith('-')).map(([f]) => (f.startsWith('-') ? f : f.slice(sub.length)))
      subs.set(sub, flagsOf([...usage.map((l) => l.replace(new RegExp(`^.*\\buvm ${c.name} ${sub}\\b`), '')), ...help]))
    }
    const own = flagsOf([...(c.subcommands?.length ? [] : [c.usage.replace(/^uvm \S+/, '')]), ...c.options.filter(([f]) => f.startsWith('-')).map(([f]) => f)])
    if (!own.flags.includes('--help')) own.flags.push('--help')
    return { name: c.name, ...own, subcommands: subs, positional: c.name === 'completion' ? [...SHELLS] : [] }
  })
}

const words = (list: string[]) => list.join(' ')

function bash(commands: Completable[]): string {
  const valueCase = (w: Words, indent: string) => {
    const any = [...w.values].filter(([, v]) => v === 'any').map(([f]) => f)
    const lines = [`${indent}case "$prev" in`]
    for (const [f, v] of w.values) if (v !== 'any') lines.push(`${indent}  ${f}) COMPREPLY=($(compgen -W "${words(v)}" -- "$cur")); return;;`)
    if (any.length) lines.push(`${indent}  ${any.join('|')}) return;;`)
    lines.push(`${indent}esac`)
    return lines.join('\n')
  }
  const flagLine = (w: Words, indent: string) => `${indent}[[ $cur == -* ]] && COMPREPLY=($(compgen -W "${words(w.flags)}" -- "$cur"))`
  const cases = commands.map((c) => {
    const body: string[] = []
    if (c.subcommands.size > 0) {
      body.push(`      if [[ -z $sub ]]; then COMPREPLY=($(compgen -W "${words([...c.subcommands.keys()])}" -- "$cur")); return; fi`, '      case "$sub" in')
      for (const [s, w] of c.subcommands) body.push(`        ${s})`, valueCase(w, '          '), flagLine({ ...w, flags: [...w.flags, '--help'] }, '          '), '          ;;')
      body.push('      esac')
    } else {
      body.push(valueCase(c, '      '))
      if (c.positional.length) body.push(`      [[ -z $sub && $cur != -* ]] && COMPREPLY=($(compgen -W "${words(c.positional)}" -- "$cur")) && return`)
      body.push(flagLine(c, '      '))
    }
    return [`    ${c.name})`, ...body, '      ;;'].join('\n')
  })
  return `# uvm completion for bash, made by \`uvm completion bash\` from the commands' own help.
# Load it with:  source <(uvm completion bash)   or save it as /etc/bash_completion.d/uvm
_uvm() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}" cmd="" sub="" i
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "\${COMP_WORDS[i]}" in
      -*) ;;
      *) if [[ -z $cmd ]]; then cmd="\${COMP_WORDS[i]}"; elif [[ -z $sub ]]; then sub="\${COMP_WORDS[i]}"; fi ;;
    esac
  done
  COMPREPLY=()
  if [[ -z $cmd ]]; then
    COMPREPLY=($(compgen -W "${words([...commands.map((c) => c.name), 'help', '--help', '--version', '--debug'])}" -- "$cur"))
    return
  fi
  case "$cmd" in
    help) [[ -z $sub ]] && COMPREPLY=($(compgen -W "${words(commands.map((c) => c.name))}" -- "$cur")) ;;
${cases.join('\n')}
  esac
}
complete -o default -F _uvm uvm
`
}

function zsh(commands: Completable[]): string {
  const valueCase = (w: Words, indent: string) => {
    const any = [...w.values].filter(([, v]) => v === 'any').map(([f]) => f)
    const lines = [`${indent}case $prev in`]
    for (const [f, v] of w.values) if (v !== 'any') lines.push(`${indent}  ${f}) compadd -- ${words(v)}; return;;`)
    if (any.length) lines.push(`${indent}  ${any.join('|')}) _files; return;;`)
    lines.push(`${indent}esac`)
    return lines.join('\n')
  }
  const flagLine = (w: Words, indent: string) => `${indent}if [[ $cur == -* ]]; then compadd -- ${words(w.flags)}; else _files; fi`
  const cases = commands.map((c) => {
    const body: string[] = []
    if (c.subcommands.size > 0) {
      body.push(`      if [[ -z $sub ]]; then compadd -- ${words([...c.subcommands.keys()])}; return; fi`, '      case $sub in')
      for (const [s, w] of c.subcommands) body.push(`        ${s})`, valueCase(w, '          '), flagLine({ ...w, flags: [...w.flags, '--help'] }, '          '), '          ;;')
      body.push('      esac')
    } else {
      body.push(valueCase(c, '      '))
      if (c.positional.length) body.push(`      if [[ -z $sub && $cur != -* ]]; then compadd -- ${words(c.positional)}; return; fi`)
      body.push(flagLine(c, '      '))
    }
    return [`    ${c.name})`, ...body, '      ;;'].join('\n')
  })
  return `#compdef uvm
# uvm completion for zsh, made by \`uvm completion zsh\` from the commands' own help.
# Load it with:  source <(uvm completion zsh)   (after compinit), or save it as _uvm in a folder of $fpath
_uvm() {
  local cur=$words[CURRENT] prev=$words[CURRENT-1] cmd="" sub="" i
  for ((i = 2; i < CURRENT; i++)); do
    case $words[i] in
      -*) ;;
      *) if [[ -z $cmd ]]; then cmd=$words[i]; elif [[ -z $sub ]]; then sub=$words[i]; fi ;;
    esac
  done
  if [[ -z $cmd ]]; then
    compadd -- ${words([...commands.map((c) => c.name), 'help', '--help', '--version', '--debug'])}
    return
  fi
  case $cmd in
    help) [[ -z $sub ]] && compadd -- ${words(commands.map((c) => c.name))} ;;
${cases.join('\n')}
  esac
}
if [[ $funcstack[1] == _uvm ]]; then _uvm "$@"; else compdef _uvm uvm; fi
`
}

/** `uvm completion bash|zsh`: a completion script generated from the commands' specs, so it never lags behind them. */
export function completion(commands: () => CommandSpec[]): CommandSpec {
  return {
    name: 'completion',
    summary: 'print a shell completion script: source <(uvm completion bash), or zsh',
    usage: 'uvm completion bash|zsh',
    options: [],
    async run(argv, io) {
      const { positionals } = parse(argv, {}, 'completion')
      const shell = positionals[0]
      if (shell === undefined || positionals.length > 1) throw new UsageError('name one shell: uvm completion bash, or uvm completion zsh', 'completion')
      if (!(SHELLS as readonly string[]).includes(shell)) throw new UsageError(withHint(`no completion for "${shell}" (there are bash and zsh)`, shell, SHELLS), 'completion')
      const m = model(commands())
      io.out((shell === 'bash' ? bash(m) : zsh(m)).trimEnd())
      return 0
    },
  }
}
