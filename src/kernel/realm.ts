/**
 * What the kernel needs from the JavaScript realm that methods and acts run in.
 *
 * The kernel never hands a host-realm function, array, plain object or error to
 * sandbox code: a host `Function` is one `.constructor` away from `process`.
 * Everything that crosses goes through these hooks. The hardened implementation
 * lives in `src/act` (a `node:vm` context); the kernel only knows this shape.
 */
export interface Realm {
  /**
   * Compile stored method source into a function living in the realm. Accepted
   * forms: a function expression (`function (a) {...}`, `async function ...`),
   * an arrow function, a method shorthand (`greet(a) {...}`, as
   * `Function.prototype.toString` prints object methods), or a bare function
   * body (`return self.x + 1`, `print("hi")`). The compiled function is called
   * as `fn.call(receiver, receiver, ...args)`: `self` is its first parameter and
   * `this` is bound to the receiver too; a bare body also sees `args`.
   * Throws `MethodSyntaxError` (line/column relative to `source`).
   */
  compileMethod(source: string, selector: string): RealmFunction

  /**
   * Call a realm function from the host, under the realm's CPU limit for an
   * entry from the host; calls made while already inside sandbox code run
   * directly under the limit of the entry they are part of.
   */
  invoke(fn: RealmFunction, thisArg: unknown, args: readonly unknown[]): unknown

  /**
   * `fn.call(self, self, ...args)` as `invoke` would make it: the kernel's path for a send that found a
   * method. From the host, a realm promise it returns comes back settled (see `settle`).
   */
  callMethod(fn: RealmFunction, self: unknown, args: readonly unknown[]): unknown

  /** How many sandbox entries are on the stack now (0: host code only). */
  readonly depth: number

  /** The owner given to the act whose code is running now (its transaction); undefined outside acts. */
  readonly owner: unknown

  /**
   * A handler for the kernel's proxies whose traps are realm functions calling `traps`, so that no
   * host throwable reaches sandbox code through a trap (a stack overflow in host code included).
   */
  proxyHandler<T extends object>(traps: ProxyHandler<T>): ProxyHandler<T>

  /**
   * Whether sandbox code is about to call property `key` it reads from `value` (`value.key(…)`,
   * compiled with a call mark): true once. Host code sets no marks.
   */
  takeCallMark(value: unknown, key: string): boolean

  /**
   * A host promise for a realm promise that a method handed back to host code
   * (a send from the host to an async method), driven to completion under the
   * realm's limits; other values come back as they are.
   */
  settle(value: unknown): unknown

  /**
   * A realm function that calls the compiled method `fn` with `self` as `this`
   * and first argument, staying inside the realm. Only for sandbox code that is
   * already inside a timed entry: a host caller must go through `invoke`.
   */
  bindMethod(name: string, fn: RealmFunction, self: unknown): RealmFunction

  /** A realm function whose calls run `impl` on the host. Its identity carries no host prototype. */
  hostFunction(name: string, impl: (thisArg: unknown, args: unknown[]) => unknown): RealmFunction

  /** A fresh realm array / null-prototype-free plain object (realm `Object.prototype`). */
  newArray(items?: readonly unknown[]): unknown[]
  newObject(): Record<string, unknown>

  /** A realm Uint8Array holding a copy of `bytes` (a host typed array leads to the host Function). */
  copyBytes(bytes: Uint8Array): Uint8Array

  /** The realm's `Array.prototype` and `Object.prototype`, for proxies that stand for arrays and maps. */
  readonly arrayPrototype: object
  readonly objectPrototype: object

  /** A realm Error carrying the same name, message and own data fields (code, selector, ...). */
  toRealmError(err: unknown): Error

  /**
   * The source text of a realm function as its author wrote it (for storing it
   * as a method): `Function.prototype.toString` minus anything the realm added
   * when it compiled the code.
   */
  sourceText(fn: Function): string

  /** True when `value` is a function created in this realm (or by `hostFunction`). */
  isRealmFunction(value: unknown): value is RealmFunction
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type RealmFunction = (...args: any[]) => unknown
