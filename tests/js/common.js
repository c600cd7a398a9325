// Shared by the interop peers: argument parsing and a loopback-bound swarm.
'use strict'
const Hyperswarm = require('hyperswarm')
const DHT = require('hyperdht')

function parseArgs (argv) {
  const args = { _: [] }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg.startsWith('--')) {
      const next = argv[i + 1]
      if (next === undefined || next.startsWith('--')) args[arg.slice(2)] = true
      else { args[arg.slice(2)] = next; i++ }
    } else args._.push(arg)
  }
  return args
}

// Loopback-bound DHT by default: with the default 0.0.0.0 socket, connections
// time out on loopback. HYCHAT_JS_HOST picks another bind address (the network
// lab gives 0.0.0.0 to peers on their own hosts); the DHT then finds out for
// itself whether it is firewalled, as on a real network.
// With `relay` (a blind relay's key in hex), the swarm names it as
// hyperswarm's `relayThrough` does: when its own NAT is random, or after a
// holepunch that cannot work.
function makeSwarm (bootstrapList, relay) {
  const bootstrap = String(bootstrapList).split(',').filter(Boolean)
  const host = process.env.HYCHAT_JS_HOST
  const dht = host
    ? new DHT({ bootstrap, host })
    : new DHT({ bootstrap, host: '127.0.0.1', firewalled: false })
  const relayThrough = typeof relay === 'string' ? Buffer.from(relay, 'hex') : null
  return new Hyperswarm({ dht, relayThrough })
}

// Replicates `core` with every peer and joins its discovery key as the
// `--mode` option says (both, server or client), naming the blind relay of
// `--relay-through` if given. Returns the discovery.
function serve (core, args) {
  const swarm = makeSwarm(args.bootstrap, args['relay-through'])
  swarm.on('connection', (conn, info) => {
    log('PEER', info.publicKey.toString('hex'))
    conn.on('error', (e) => log('CONN-ERROR', e.message))
    core.replicate(conn)
  })
  const mode = args.mode || 'both'
  return swarm.join(core.discoveryKey, { server: mode !== 'client', client: mode !== 'server' })
}

function log (...parts) {
  process.stdout.write(parts.join(' ') + '\n')
}

module.exports = { parseArgs, makeSwarm, serve, log }
