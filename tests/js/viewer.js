// A modern single-chat-viewer.js: follows KEY and prints every block as it
// arrives, one JSON line each: {"seq":n,"block":{...},"received":ms}.
//   node viewer.js KEY --storage DIR --bootstrap HOST:PORT[,..] [--mode both|client|server]
'use strict'
const Hypercore = require('hypercore')
const { parseArgs, makeSwarm, log } = require('./common')

async function main () {
  const args = parseArgs(process.argv.slice(2))
  const key = Buffer.from(args._[0], 'hex')
  const core = new Hypercore(args.storage, key)
  await core.ready()
  const swarm = makeSwarm(args.bootstrap)
  swarm.on('connection', (conn, info) => {
    log('PEER', info.publicKey.toString('hex'))
    conn.on('error', (e) => log('CONN-ERROR', e.message))
    core.replicate(conn)
  })
  const mode = args.mode || 'both'
  swarm.join(core.discoveryKey, { server: mode !== 'client', client: mode !== 'server' })
  log('JOINED')
  for await (const block of core.createReadStream({ live: true })) {
    let parsed
    try { parsed = JSON.parse(block.toString()) } catch { parsed = block.toString() }
    process.stdout.write(JSON.stringify({ block: parsed, received: Date.now() }) + '\n')
  }
}

main().catch((e) => { log('FATAL', e.stack || e.message); process.exit(1) })
