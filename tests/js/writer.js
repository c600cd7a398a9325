// A modern single-chat.js: prints its key, appends chat-message JSON blocks
// from stdin (one per line) or from --text, and serves the log on the swarm.
//   node writer.js --storage DIR --bootstrap HOST:PORT[,..] [--nick NAME]
//                  [--text T]... [--mode both|server|client] [--v11]
// --v11 writes with hypercore 11 in compat mode, whose key is then the
// plain public key (otherwise it is a manifest hash no follower can use).
'use strict'
const readline = require('readline')
const { parseArgs, serve, log } = require('./common')

async function main () {
  const args = parseArgs(process.argv.slice(2))
  const nickname = args.nick || 'js-writer'
  const Hypercore = require(args.v11 ? 'hypercore11' : 'hypercore')
  const core = new Hypercore(args.storage, args.v11 ? { compat: true } : {})
  await core.ready()
  log('KEY', core.key.toString('hex'))

  const discovery = serve(core, args)
  await discovery.flushed()
  log('JOINED')

  const append = async (text) => {
    const block = { type: 'chat-message', nickname, text, timestamp: new Date().toISOString() }
    const { length } = await core.append(Buffer.from(JSON.stringify(block)))
    log('APPENDED', length - 1, Date.now())
  }
  const texts = args.text === undefined ? [] : [].concat(args.text)
  for (const text of texts) await append(text)

  const lines = readline.createInterface({ input: process.stdin })
  for await (const line of lines) {
    if (line.trim()) await append(line)
  }
}

main().catch((e) => { log('FATAL', e.stack || e.message); process.exit(1) })
