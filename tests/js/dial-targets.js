// JS servers to dial, one after another, on a JS testnet of their own or on
// an existing DHT:
//   node dial-targets.js PORT STORAGE
//   node dial-targets.js --bootstrap HOST:PORT[,..] STORAGE
// With PORT, starts `hyperdht/testnet` with three DHT nodes on 127.0.0.1
// (the first on PORT), and each server's DHT is bound to 127.0.0.1 and finds
// out for itself whether it is firewalled, as an application's would (on
// this testnet its puncher cannot tell its NAT: it samples only two nodes).
// With --bootstrap, uses the DHT those nodes belong to, and each server's
// DHT is bound as `makeSwarm` (common.js) binds the other JS peers': to
// HYCHAT_JS_HOST when it is set (the network lab gives peers on their own
// hosts 0.0.0.0, so the DHT finds out for itself whether it is firewalled),
// else to 127.0.0.1 as a reachable node. Either way it then prints
// "BOOTSTRAP host:port,.." (the DHT's nodes). Then, for each "next" line on
// stdin, stops the previous server and starts a fresh one: a hypercore 10
// log of its own under STORAGE (fresh keys) holding one chat message,
// "first dial <n>", served by a hyperswarm of its own (fresh DHT keys, so no
// throttle of random punches carries over) that joins the log's discovery
// key as a server only. Prints "KEY <hex> <n>" once the announcement is
// flushed, "PEER <n>" for each connection it gets and "FATAL <error>" when
// something breaks. A server that had a connection takes seconds to close,
// so the next one does not wait for it.
'use strict'
const path = require('path')
const readline = require('readline')
const createTestnet = require('hyperdht/testnet')
const DHT = require('hyperdht')
const Hyperswarm = require('hyperswarm')
const Hypercore = require('hypercore')
const { parseArgs, makeSwarm, log } = require('./common')

// The DHT to serve on: its nodes, a swarm maker, and how to leave it.
async function network (args) {
  if (args.bootstrap !== undefined) {
    if (args.bootstrap === true || args._.length !== 1) usage()
    const bootstrap = String(args.bootstrap).split(',').filter(Boolean)
    if (bootstrap.length === 0) usage()
    return {
      bootstrap,
      swarm: () => makeSwarm(bootstrap.join(',')),
      async destroy () {}
    }
  }
  if (args._.length !== 2) usage()
  const port = Number(args._[0])
  const testnet = await createTestnet(3, { host: '127.0.0.1', port })
  const bootstrap = testnet.bootstrap.map((b) => `${b.host}:${b.port}`)
  return {
    bootstrap,
    swarm: () => new Hyperswarm({ dht: new DHT({ bootstrap: testnet.bootstrap, host: '127.0.0.1' }) }),
    destroy: () => testnet.destroy()
  }
}

function usage () {
  throw new Error('usage: dial-targets.js PORT STORAGE | dial-targets.js --bootstrap HOST:PORT[,..] STORAGE')
}

async function main () {
  const args = parseArgs(process.argv.slice(2))
  const net = await network(args)
  const storage = args._[args._.length - 1]
  log('BOOTSTRAP', net.bootstrap.join(','))

  let current = null
  const stopping = []
  let n = 0
  const lines = readline.createInterface({ input: process.stdin })
  for await (const line of lines) {
    if (line.trim() !== 'next') continue
    if (current) stopping.push(current.stop())
    current = await serve(net.swarm(), path.join(storage, String(n)), n)
    log('KEY', current.key, n)
    n++
  }
  if (current) stopping.push(current.stop())
  await Promise.allSettled(stopping)
  await net.destroy()
}

async function serve (swarm, dir, n) {
  const core = new Hypercore(dir)
  await core.ready()
  const block = {
    type: 'chat-message',
    nickname: 'js-server',
    text: `first dial ${n}`,
    timestamp: new Date().toISOString()
  }
  await core.append(Buffer.from(JSON.stringify(block)))
  swarm.on('connection', (conn) => {
    log('PEER', n)
    conn.on('error', () => {})
    core.replicate(conn)
  })
  await swarm.join(core.discoveryKey, { server: true, client: false }).flushed()
  return {
    key: core.key.toString('hex'),
    async stop () {
      await swarm.destroy({ force: true })
      await core.close()
    }
  }
}

main().catch((e) => { log('FATAL', e.stack || e.message); process.exit(1) })
