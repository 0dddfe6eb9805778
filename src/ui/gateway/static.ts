import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { extname, join, normalize, sep } from 'node:path'

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
}

/**
 * What every answer carries: the page is the image's live view, so never a stale copy, and it may
 * load nothing but its own files and talk to nothing but its own gateway.
 */
export const SECURITY_HEADERS: Record<string, string> = {
  'Cache-Control': 'no-store',
  'Content-Security-Policy': "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
}

export function plain(res: ServerResponse, status: number, text: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': 'text/plain; charset=utf-8', ...extra })
  res.end(text + '\n')
}

/** Serve a file of `root` for a GET or HEAD of `pathname` ("/" is index.html); nothing outside root, no listings. */
export async function serveStatic(req: IncomingMessage, res: ServerResponse, root: string, pathname: string): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') return plain(res, 405, 'only GET and HEAD', { Allow: 'GET, HEAD' })
  let rel: string
  try {
    rel = decodeURIComponent(pathname)
  } catch {
    return plain(res, 400, 'a malformed path')
  }
  if (rel.includes('\0')) return plain(res, 400, 'a malformed path')
  if (rel.endsWith('/')) rel += 'index.html'
  const file = normalize(join(root, rel))
  if (file !== root && !file.startsWith(root.endsWith(sep) ? root : root + sep)) return plain(res, 404, 'not found')
  let size: number
  try {
    const s = await stat(file)
    if (!s.isFile()) return plain(res, 404, 'not found')
    size = s.size
  } catch {
    return rel === '/index.html'
      ? plain(res, 404, `the page is not built: no ${file} (run \`npm run build\`)`)
      : plain(res, 404, 'not found')
  }
  res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream', 'Content-Length': String(size) })
  if (req.method === 'HEAD') return void res.end()
  createReadStream(file).on('error', () => res.destroy()).pipe(res)
}
