// The page's build: its own tsconfig (DOM types, ES modules for the browser), then index.html,
// style.css and favicon.svg copied beside the JavaScript. No bundler: a handful of ES modules load fine from 'self'.
import { spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const src = join(root, 'src/ui/page')
const out = join(root, 'dist/ui/page')
const local = join(root, 'node_modules/.bin/tsc')
const r = spawnSync(existsSync(local) ? local : 'npx', existsSync(local) ? ['-p', join(root, 'tsconfig.ui.json')] : ['tsc', '-p', join(root, 'tsconfig.ui.json')], { cwd: root, stdio: 'inherit' })
mkdirSync(out, { recursive: true })
for (const f of ['index.html', 'style.css', 'favicon.svg']) copyFileSync(join(src, f), join(out, f))
if (!existsSync(join(out, 'app.js'))) {
  console.error('build-ui: tsc did not produce dist/ui/page/app.js')
  process.exit(1)
}
process.exit(r.status ?? 1)
