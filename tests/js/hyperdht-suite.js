// Runs one brittle test file of a hyperdht source checkout against the
// installed hyperdht, on a DHT of JS nodes or of hychat nodes:
//   node hyperdht-suite.js --src CHECKOUT --mode js FILE
//   node hyperdht-suite.js --src CHECKOUT --mode hychat --hychat BINARY
//        [--max-nodes N] FILE
// FILE is a path under CHECKOUT/test (announces.js, storing.js, ...). The
// checkout's test files are loaded as they are; what they require is
// resolved here: the package itself (`require('../')`, `../lib/...`) to the
// installed hyperdht, anything else by name from hyperdht's and this
// folder's packages.
//
// --mode js: the helpers' testnet is hyperdht's own (`testnet.js`), a DHT
// of JS nodes, as in the authors' runs.
// --mode hychat: the testnet is a DHT of hychat bootstrap nodes on
// 127.0.0.1, started from BINARY for each testnet the tests ask for (as many
// as asked, at most N, default 10), joined into one with --bootstrap and
// stopped at the test's teardown. The `nodes` handed to the tests (and the
// testnet's iteration) are ephemeral JS clients of that DHT, created when a
// test first touches them (the first three before the testnet is returned,
// bootstrapped); `testnet.bootstrap` lists every hychat node. So the tests
// run their JS code against hychat's storage, lookups and relaying; a test
// that needs a node of the DHT itself to be a JS object (its id, its address
// as a bootstrap node) fails there.
//
// Each test is followed through a wrapper of brittle's `test` (and skip,
// solo, todo, hook): brittle's TAP output goes to stdout as usual, and at
// the end one line `SUITE {json}` says, per test in the order registered,
// whether it passed, failed (its error), was skipped, or did not finish,
// then the process exits (0 when every test that ran passed). A test that
// throws does not stop the file. The whole file is bounded by
// HYCHAT_SUITE_FILE_SECS (default 600 s); what did not finish by then is
// reported as such.
'use strict'
const Module = require('module')
const path = require('path')
const fs = require('fs')
const os = require('os')
const dgram = require('dgram')
const { spawn } = require('child_process')
const { parseArgs } = require('./common')

const args = parseArgs(process.argv.slice(2))
const MODES = ['js', 'hychat']

function usage (why) {
  process.stderr.write(`${why}\nusage: hyperdht-suite.js --src CHECKOUT --mode js|hychat [--hychat BINARY] [--max-nodes N] FILE\n`)
  process.exit(2)
}

if (typeof args.src !== 'string') usage('--src names the hyperdht source checkout')
if (!MODES.includes(args.mode)) usage('--mode is js or hychat')
if (args._.length !== 1) usage('one test file, under CHECKOUT/test')
if (args.mode === 'hychat' && typeof args.hychat !== 'string') usage('--mode hychat needs --hychat BINARY')

const SRC = path.resolve(args.src)
const TEST_DIR = path.join(SRC, 'test')
const FILE = path.resolve(TEST_DIR, args._[0])
const MAX_NODES = Number(args['max-nodes'] || 10)
const FILE_LIMIT = Number(process.env.HYCHAT_SUITE_FILE_SECS || 600) * 1000
const HYDHT_DIR = path.dirname(require.resolve('hyperdht'))
if (!fs.existsSync(FILE)) usage(`no test file ${FILE}`)
if (!(MAX_NODES >= 1)) usage('--max-nodes is a positive number')

// --- resolving the checkout's requires -----------------------------------

const HYCHAT_TESTNET = '\0hychat-testnet'
const realResolve = Module._resolveFilename

function inside (dir, file) {
  const rel = path.relative(dir, file)
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel)
}

Module._resolveFilename = function (request, parent, isMain, options) {
  const from = parent && parent.filename
  if (!from || !inside(SRC, from)) return realResolve.call(this, request, parent, isMain, options)
  if (request.startsWith('.')) {
    const target = path.resolve(path.dirname(from), request)
    if (target === SRC || !inside(TEST_DIR, target)) {
      // The package itself: the installed one.
      const rel = path.relative(SRC, target).replace(/\.js$/, '')
      if (rel === '' || rel === 'index') return require.resolve('hyperdht')
      if (rel === 'testnet' && args.mode === 'hychat') return HYCHAT_TESTNET
      return require.resolve(path.join('hyperdht', rel))
    }
    return realResolve.call(this, request, parent, isMain, options)
  }
  if (Module.isBuiltin && Module.isBuiltin(request)) return realResolve.call(this, request, parent, isMain, options)
  if (request === 'brittle') return BRITTLE
  // By name: hyperdht's own dependencies first (the versions it runs
  // with), then this folder's packages (brittle and the helpers' own).
  return require.resolve(request, { paths: [HYDHT_DIR, __dirname] })
}

// --- following each test -------------------------------------------------

const brittle = require('brittle')
const BRITTLE = '\0hychat-brittle'
const tests = [] // { name, result: 'pass'|'fail'|'skip'|'unfinished', error }
let current = null

function follow (variant) {
  return function (name, opts, fn) {
    if (typeof name === 'function') { fn = name; opts = null; name = null }
    if (typeof opts === 'function') { fn = opts; opts = null }
    const entry = { name: name || '(unnamed)', result: 'unfinished', error: null }
    let started = false
    tests.push(entry)
    const settle = (ok) => {
      if (entry.result !== 'unfinished') return
      entry.result = ok === false || entry.error ? 'fail' : 'pass'
      if (entry.result === 'fail' && !entry.error) entry.error = 'an assertion failed'
    }
    // A throw or a timeout ends a brittle test by rejecting it, and every
    // test queued behind it then rejects with the same error without
    // running (brittle expects the process to end there). Here a throw is a
    // failed assertion (the teardowns still run) and a rejection (a
    // timeout) ends the test as failed, so the next one runs. A test ends
    // when brittle ends it, even if its function never returns.
    const body = typeof fn === 'function'
      ? async function (t) {
        started = true
        current = entry
        t.reject = (err) => {
          entry.error = entry.error || describe(err)
          t.resolve(false)
        }
        t.promise.then(settle)
        try {
          return await fn.call(this, t)
        } catch (err) {
          entry.error = entry.error || `threw: ${describe(err)}`
          t.fail(`threw: ${describe(err)}`)
        }
      }
      : fn
    const run = variant(name, opts, body)
    if (run && typeof run.then === 'function') {
      run.then(
        (ok) => {
          if (!started) entry.result = 'skip'
          else settle(ok)
        },
        (err) => {
          entry.error = entry.error || describe(err)
          settle(false)
        }
      )
    }
    return run
  }
}

// An error's message and where it was thrown, on one line.
function describe (err) {
  const message = err && err.message ? err.message : String(err)
  const frame = err && err.stack ? String(err.stack).split('\n').find((l) => l.trim().startsWith('at ')) : null
  return `${err && err.name && err.name !== 'Error' ? err.name + ': ' : ''}${message}${frame ? ` (${frame.trim()})` : ''}`
}

const followed = follow(brittle)
Object.assign(followed, brittle, {
  test: followed,
  solo: follow(brittle.solo),
  skip: follow(brittle.skip),
  todo: follow(brittle.todo),
  hook: follow(brittle.hook)
})
require.cache[BRITTLE] = fakeModule(BRITTLE, followed)

// A throw outside a test's own promise (an event handler, a timer) is put
// on the test that runs, instead of ending the process.
process.on('uncaughtException', (err) => onStray(err))
process.on('unhandledRejection', (err) => onStray(err))

function onStray (err) {
  if (current && current.result === 'unfinished') {
    current.error = current.error || `uncaught: ${describe(err)}`
  } else {
    process.stdout.write(`# hyperdht-suite: uncaught outside a test: ${describe(err)}\n`)
  }
}

function fakeModule (id, exports) {
  const m = new Module(id, null)
  m.filename = id
  m.loaded = true
  m.exports = exports
  return m
}

// --- a testnet of hychat nodes --------------------------------------------

const HYCHAT_ENV = ['HYCHAT_STORAGE', 'HYCHAT_BOOTSTRAP', 'HYCHAT_NICK', 'HYCHAT_ROOM', 'HYCHAT_LOG']
const PORT_TRIES = 3
const NODE_START = 15_000
const EAGER_CLIENTS = 3
const children = new Set()

function freePort () {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket('udp4')
    socket.once('error', reject)
    socket.bind(0, '127.0.0.1', () => {
      const { port } = socket.address()
      socket.close(() => resolve(port))
    })
  })
}

function addressText (b) {
  return typeof b === 'string' ? b : `${b.host}:${b.port}`
}

// One `hychat bootstrap` on 127.0.0.1, joined to `join` (host:port list; its
// own address when empty). Resolves to { child, port, storage } once it
// says it listens.
async function startNode (join) {
  const failures = []
  for (let attempt = 1; attempt <= PORT_TRIES; attempt++) {
    const port = await freePort()
    const storage = fs.mkdtempSync(path.join(os.tmpdir(), 'hychat-suite-'))
    const env = { ...process.env }
    for (const name of HYCHAT_ENV) delete env[name]
    const list = join.length ? join : [`127.0.0.1:${port}`]
    const child = spawn(args.hychat, [
      '--storage', storage, '--bootstrap', list.join(','),
      'bootstrap', '--port', String(port), '--host', '127.0.0.1'
    ], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    const started = { child, storage }
    children.add(started)
    child.once('exit', () => children.delete(started))
    const expected = `bootstrap node listening on 127.0.0.1:${port}`
    let printed = ''
    const up = await new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), NODE_START)
      child.stdout.on('data', (data) => {
        printed += data
        if (printed.split('\n').includes(expected)) { clearTimeout(timer); resolve(true) }
      })
      child.stderr.on('data', (data) => { printed += data })
      child.once('exit', () => { clearTimeout(timer); resolve(false) })
      child.once('error', (e) => { printed += String(e); clearTimeout(timer); resolve(false) })
    })
    if (up) return { child, port, storage }
    await stopNode({ child, storage })
    failures.push(`try ${attempt} on port ${port}: ${printed.trim() || 'nothing printed'}`)
  }
  throw new Error(`no hychat bootstrap node came up in ${PORT_TRIES} tries: ${failures.join('; ')}`)
}

async function stopNode ({ child, storage }) {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGTERM')
    const timer = new Promise((resolve) => setTimeout(resolve, 5000))
    if (await Promise.race([exited.then(() => true), timer.then(() => false)]) === false) {
      child.kill('SIGKILL')
      await exited
    }
  }
  fs.rmSync(storage, { recursive: true, force: true })
}

// hyperdht's `createTestnet(size, opts)`, with hychat nodes as the DHT.
async function createHychatTestnet (size = 10, opts = {}) {
  const DHT = require('hyperdht')
  const teardown = typeof opts === 'function' ? opts : opts.teardown ? opts.teardown.bind(opts) : () => {}
  const testnet = new HychatTestnet(DHT)
  if (size === 0) return testnet
  const join = (opts.bootstrap || []).map(addressText)
  teardown(() => testnet.destroy(), { order: Infinity })
  for (let i = 0; i < Math.min(size, MAX_NODES); i++) {
    const joining = i === 0 ? join : testnet.servers.map((s) => `127.0.0.1:${s.port}`)
    testnet.servers.push(await startNode(joining))
  }
  testnet.bootstrap.push(...testnet.servers.map((s) => ({ host: '127.0.0.1', port: s.port })))
  testnet.slots.length = size
  const eager = []
  for (let i = 0; i < Math.min(size, EAGER_CLIENTS); i++) eager.push(testnet.nodes[i])
  await Promise.all(eager.map((n) => n.fullyBootstrapped()))
  return testnet
}

class HychatTestnet {
  constructor (DHT) {
    this.DHT = DHT
    this.servers = []
    this.bootstrap = []
    this.slots = []
    this.clients = []
    const self = this
    // `nodes[i]` is a JS client of the DHT, made when first touched.
    this.nodes = new Proxy(this.slots, {
      get (slots, key, receiver) {
        if (typeof key === 'string' && /^\d+$/.test(key) && Number(key) < slots.length && !slots[key]) {
          slots[key] = self._client({})
        }
        return Reflect.get(slots, key, receiver)
      }
    })
  }

  _client (opts) {
    const node = new this.DHT({ ephemeral: true, bootstrap: this.bootstrap, host: '127.0.0.1', ...opts })
    this.clients.push(node)
    return node
  }

  createNode (opts = {}) {
    const node = this._client(opts)
    this.slots.push(node)
    return node
  }

  async destroy () {
    for (const node of this.clients) {
      for (const server of node.listening) await server.close()
    }
    for (let i = this.clients.length - 1; i >= 0; i--) await this.clients[i].destroy()
    for (const server of this.servers) await stopNode(server)
  }

  [Symbol.iterator] () {
    return this.nodes[Symbol.iterator]()
  }
}

if (args.mode === 'hychat') require.cache[HYCHAT_TESTNET] = fakeModule(HYCHAT_TESTNET, createHychatTestnet)

// --- the run -------------------------------------------------------------

function killChildren () {
  for (const { child, storage } of children) {
    try { child.kill('SIGKILL') } catch {}
    try { fs.rmSync(storage, { recursive: true, force: true }) } catch {}
  }
}
process.on('exit', killChildren)
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(128 + os.constants.signals[signal]))

let reported = false
function report () {
  if (reported) return
  reported = true
  const counts = { pass: 0, fail: 0, skip: 0, unfinished: 0 }
  for (const t of tests) counts[t.result]++
  process.stdout.write('SUITE ' + JSON.stringify({
    file: path.relative(TEST_DIR, FILE),
    mode: args.mode,
    maxNodes: args.mode === 'hychat' ? MAX_NODES : null,
    counts,
    tests
  }) + '\n')
  process.exit(counts.fail + counts.unfinished === 0 ? 0 : 1)
}

const limit = setTimeout(report, FILE_LIMIT)

async function main () {
  require(FILE)
  // Every test is registered once the file is loaded; each settles after
  // its teardown. Wait for all of them (bounded by FILE_LIMIT above).
  const started = tests.length
  for (let i = 0; i < 1_000_000 && tests.some((t) => t.result === 'unfinished'); i++) {
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  if (tests.length !== started) process.stdout.write(`# hyperdht-suite: ${tests.length - started} test(s) registered late\n`)
  clearTimeout(limit)
  // Let brittle print its own summary first.
  setTimeout(report, 200)
}

main().catch((err) => {
  process.stdout.write(`# hyperdht-suite: the file did not load: ${describe(err)}\n`)
  tests.push({ name: '(loading the file)', result: 'fail', error: describe(err) })
  report()
})
