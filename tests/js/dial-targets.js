// JS servers to dial, one after another, on a JS testnet of their own:
//   node dial-targets.js PORT STORAGE
// Starts `hyperdht/testnet` with three DHT nodes on 127.0.0.1 (the first on
// PORT) and prints "BOOTSTRAP host:port,host:port,host:port". Then, for each
// "next" line on stdin, stops the previous server and starts a fresh one: a
// hypercore 10 log of its own under STORAGE (fresh keys) holding one chat
// message, served by a hyperswarm of its own (fresh DHT keys) that joins the
// log's discovery key as a server only. Its DHT is bound to 127.0.0.1 and
// finds out for itself whether it is firewalled, as an application's would.
// Prints "KEY <hex> <n>" once the announcement is flushed, "PEER <n>" for
// each connection it gets and "FATAL <error>" when something breaks. A
// server that had a connection takes seconds to close, so the next one does
// not wait for it.
'use strict'
const path = require('path')
const readline = require('readline')
const createTestnet = require('hyperdht/testnet')
const DHT = require('hyperdht')
const Hyperswarm = require('hyperswarm')
const Hypercore = require('hypercore')
const { log } = require('./common')

async function main () {
  const port = Number(process.argv[2])
  const storage = process.argv[3]
  const testnet = await createTestnet(3, { host: '127.0.0.1', port })
  log('BOOTSTRAP', testnet.bootstrap.map((b) => `${b.host}:${b.port}`).join(','))

  let current = null
  const stopping = []
  let n = 0
  const lines = readline.createInterface({ input: process.stdin })
  for await (const line of lines) {
    if (line.trim() !== 'next') continue
    if (current) stopping.push(current.stop())
    current = await serve(testnet.bootstrap, path.join(storage, String(n)), n)
    log('KEY', current.key, n)
    n++
  }
  if (current) stopping.push(current.stop())
  await Promise.allSettled(stopping)
  await testnet.destroy()
}

async function serve (bootstrap, dir, n) {
  const core = new Hypercore(dir)
  await core.ready()
  const block = {
    type: 'chat-message',
    nickname: 'js-server',
    text: `first dial ${n}`,
    timestamp: new Date().toISOString()
  }
  await core.append(Buffer.from(JSON.stringify(block)))
  const swarm = new Hyperswarm({ dht: new DHT({ bootstrap, host: '127.0.0.1' }) })
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
