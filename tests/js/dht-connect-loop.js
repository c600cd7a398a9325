// Fresh JS pairs connecting through a DHT, one pair at a time:
//   node dht-connect-loop.js [--pairs N] [--as-started] HOST:PORT [HOST:PORT ...]
// The addresses are the DHT's nodes (hychat bootstrap nodes in the tests).
// Each pair is two new hyperdht nodes on 127.0.0.1: A listens
// (`createServer().listen()`), B connects to A's public key, writes a line
// and waits for A to echo it. So the handshake goes through the relays A
// announced to, and for a firewalled A the holepunch rounds too.
// Pairs cycle through every combination of:
//   - A firewalled or open, B firewalled or open. Firewalled: the node skips
//     its NAT test (`quickFirewall: false`), so it stays firewalled and
//     sends from its client socket, as a node behind a NAT does; open: it
//     starts unfirewalled (`firewalled: false`), as a node that passed it;
//   - the path: "lan" (the LAN shortcut on, as hyperdht starts), "punch"
//     (the shortcut off: B does not try A's local addresses and A does not
//     share them) or "rounds" (the shortcut off and no fast open: B sends
//     no probe before the first holepunch round, so a firewalled pair meets
//     only through the rounds the relays carry).
// Both nodes finish bootstrapping before A listens.
// --as-started instead leaves both nodes adaptive (they test their NAT
// while bootstrapping) and has A listen and B connect at once, as a
// program usually starts them. That is left out of the tests on purpose:
// a hyperdht 6.34 node still bootstrapping may find its server socket
// reachable and stop being firewalled in the middle of its own connect,
// after its handshake said firewalled; its holepunch rounds then say
// "open" with no addresses, a firewalled server aborts the punch and drops
// the stream the LAN shortcut was about to use, and the client fails with
// "connection timed out" after ~13 s. That happens on a DHT of JS nodes in
// other processes too, whenever the relays answer quickly; it is not the
// DHT's to prevent.
// Prints one JSON line per pair, {"pair", "server", "client", "path", "ok",
// "ms", "detail"}, then exits 0 when every pair connected and 1 otherwise.
// Each pair is bounded (PAIR_LIMIT), and the whole run too; nothing is
// retried.
'use strict'
const DHT = require('hyperdht')

const PAIR_LIMIT = 10_000
const RUN_LIMIT = 240_000

function print (result) {
  process.stdout.write(JSON.stringify(result) + '\n')
}

function briefly (e) {
  if (!e || !e.message) return String(e)
  return e.code && !e.message.includes(e.code) ? `${e.code}: ${e.message}` : e.message
}

const SIDES = ['firewalled', 'open']
const PATHS = ['lan', 'punch', 'rounds']

// The pair's variant: server side, client side, path.
function variant (i, asStarted) {
  return {
    server: asStarted ? 'adaptive' : SIDES[i % 2],
    client: asStarted ? 'adaptive' : SIDES[(i >> 1) % 2],
    path: PATHS[Math.floor(i / 4) % PATHS.length]
  }
}

function node (bootstrap, side) {
  const opts = { bootstrap, host: '127.0.0.1' }
  if (side === 'firewalled') opts.quickFirewall = false
  if (side === 'open') opts.firewalled = false
  return new DHT(opts)
}

// One pair: resolves to { ok, detail }.
async function pair (bootstrap, v, asStarted) {
  const a = node(bootstrap, v.server)
  const b = node(bootstrap, v.client)
  const line = Buffer.from(`hello through the DHT ${process.pid} ${Date.now()}\n`)
  let server = null
  let socket = null
  let timer = null
  try {
    if (!asStarted) await Promise.all([a.fullyBootstrapped(), b.fullyBootstrapped()])
    const states = () => `A ${a.firewalled ? 'firewalled' : 'open'}, B ${b.firewalled ? 'firewalled' : 'open'}`
    const before = states()
    const served = new Promise((resolve) => {
      server = a.createServer({ shareLocalAddress: v.path === 'lan' }, (s) => {
        s.on('error', () => {})
        s.on('data', (d) => s.write(d))
        resolve()
      })
    })
    await server.listen()
    const echoed = new Promise((resolve, reject) => {
      socket = b.connect(server.publicKey, {
        localConnection: v.path === 'lan',
        fastOpen: v.path !== 'rounds'
      })
      let got = Buffer.alloc(0)
      socket.on('open', () => socket.write(line))
      socket.on('data', (d) => {
        got = Buffer.concat([got, d])
        if (got.length >= line.length) resolve(got.equals(line))
      })
      socket.on('error', (e) => reject(e))
      socket.on('close', () => reject(new Error('the stream closed before the echo')))
    })
    echoed.catch(() => {}) // settled by the race below; a late close is no news
    const limit = new Promise((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`no echo within ${PAIR_LIMIT / 1000} s`)), PAIR_LIMIT)
    })
    const same = await Promise.race([echoed, limit])
    await Promise.race([served, limit])
    const after = states() === before ? before : `${before}, then ${states()}`
    if (!same) return { ok: false, detail: `${after}: the echo differs from what was written` }
    return { ok: true, detail: `${after}: echoed` }
  } catch (e) {
    const hint = server && server.publicKey ? '' : ' (before A listened)'
    return { ok: false, detail: `A ${a.firewalled ? 'firewalled' : 'open'}, B ${b.firewalled ? 'firewalled' : 'open'} at the end: ${briefly(e)}${hint}` }
  } finally {
    clearTimeout(timer)
    if (socket) socket.destroy()
    await Promise.race([
      (async () => {
        if (server) await server.close()
        await Promise.all([a.destroy(), b.destroy()])
      })(),
      new Promise((resolve) => setTimeout(resolve, 5000))
    ])
  }
}

async function main () {
  const args = process.argv.slice(2)
  let pairs = 24
  let asStarted = false
  const addresses = []
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--pairs') pairs = Number(args[++i])
    else if (args[i] === '--as-started') asStarted = true
    else addresses.push(...args[i].split(',').filter(Boolean))
  }
  if (addresses.length === 0 || !(pairs > 0)) {
    throw new Error('usage: dht-connect-loop.js [--pairs N] [--as-started] HOST:PORT [HOST:PORT ...]')
  }
  const guard = setTimeout(() => {
    print({ pair: 'whole run', ok: false, detail: `the run did not finish within ${RUN_LIMIT / 1000} s` })
    process.exit(1)
  }, RUN_LIMIT)

  let failed = 0
  for (let i = 0; i < pairs; i++) {
    const v = variant(i, asStarted)
    const started = Date.now()
    const result = await pair(addresses, v, asStarted)
    if (!result.ok) failed++
    print({ pair: i, ...v, ...result, ms: Date.now() - started })
  }
  clearTimeout(guard)
  process.exit(failed === 0 ? 0 : 1)
}

main().catch((e) => {
  print({ pair: 'whole run', ok: false, detail: `threw: ${briefly(e)}` })
  process.exit(1)
})
