/** The Entropic UI: the page, and the WebSocket gateway that speaks the covenant for it. */
export { DEFAULT_UI_PORT, defaultStaticDir, startUi } from './gateway/gateway.js'
export type { Ui, UiOptions } from './gateway/gateway.js'
export { portFree } from './gateway/port.js'
