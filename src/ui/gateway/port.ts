import { createServer } from 'node:net'

/** Whether `port` can be listened on at `host` now (a check before a daemon opens anything). */
export function portFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolvePort) => {
    const server = createServer()
    server.once('error', () => resolvePort(false))
    server.listen(port, host, () => server.close(() => resolvePort(true)))
  })
}
