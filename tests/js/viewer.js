// A modern single-chat-viewer.js: follows KEY and prints every block as it
// arrives, one JSON line each: {"seq":n,"block":{...},"received":ms}.
//   node viewer.js KEY --storage DIR --bootstrap HOST:PORT[,..] [--mode both|client|server]
//     [--relay-through RELAY_KEY]
'use strict'
const Hypercore = require('hypercore')
const { parseArgs, serve, log } = require('./common')

async function main () {
  const args = parseArgs(process.argv.slice(2))
  const key = Buffer.from(args._[0], 'hex')
  const core = new Hypercore(args.storage, key)
  await core.ready()
  serve(core, args)
  log('JOINED')
  // The stream reads the log in order from block 0, so its count is the seq.
  let seq = 0
  for await (const block of core.createReadStream({ live: true })) {
    let parsed
    try { parsed = JSON.parse(block.toString()) } catch { parsed = block.toString() }
    process.stdout.write(JSON.stringify({ seq: seq++, block: parsed, received: Date.now() }) + '\n')
  }
}

main().catch((e) => { log('FATAL', e.stack || e.message); process.exit(1) })
