// A bare UDX peer for interop tests of hychat's own UDX and secret stream
// against the real JS modules (udx-native and @hyperswarm/secret-stream, no
// DHT): one udx-native socket on 127.0.0.1, one stream on it, driven by JSON
// orders on stdin and reporting JSON on stdout, one object per line.
//   node udx-peer.js [--port P] [--id ID]
// binds port P (default 0, any free port) and creates the stream with id ID
// (a u32; default random), then prints
//   {"ready":true,"host":"127.0.0.1","port":P,"id":ID}
//
// Orders (one object a line; an object with several keys runs them in order):
//   {"connect":{"port":P,"host":"127.0.0.1","id":REMOTE_ID}}
//       connects the stream (no packet is sent); P may be the impairment
//       proxy's side. Prints {"connected":{"host","port","id"}}.
//   {"secret":{"isInitiator":bool,"tx":hex,"rx":hex,"hash":hex,
//              "publicKey":hex,"remotePublicKey":hex,"keepAlive":ms}}
//       secret mode: a NoiseSecretStream over the raw stream with a finished
//       handshake, made as hyperdht's lib/connect.js makes it (keepAlive 0,
//       the default here, is off; the keys default to 32 zero bytes). Give it
//       before `connect` (or on the same line): the stream starts on connect.
//       Given after, it only starts if nothing was received yet. Prints
//       {"secret":"started","streamId":hex} once started. With "quiet":true
//       no line is printed per message received (a bulk transfer).
//   {"echo":bool}      writes back everything received (raw bytes or
//                      messages). Prints {"echo":bool}.
//   {"send":{"bytes":N,"seed":S}}      raw mode: writes N pattern bytes;
//       prints {"sent":N,"ms":T,"ok":bool,"t0":E,"sha256":hex} once the peer
//       acked them all.
//   {"write":{"bytes":N,"seed":S,"count":K}}   secret mode: K messages
//       (default 1) of N pattern bytes, message i with seed S+i; prints
//       {"written":N*K,"messages":K,"ms":T,"ok":bool,"t0":E,"sha256":hex}
//       once flushed (acked).
//   In both, T is the milliseconds from the first write to the last ack, E
//   the wall clock at the first write (milliseconds since the Unix epoch,
//   with a fraction; the bytes are made before it) and sha256 the hash of
//   every byte written, in order.
//   {"datagram":{"bytes":N,"seed":S}}  an unreliable UDX message (raw mode)
//       or a boxed secret-stream message (secret mode); prints
//       {"datagramSent":N,"ok":bool}.
//   {"report":true}    prints the receive totals (below) now.
//   {"stats":true}     prints {"stats":{...}}.
//   {"end":true}       ends the writing side; {"destroy":true} destroys.
//
// Reports:
//   raw mode, when the peer ends, and on "report":
//       {"received":N,"sha256":hex,"ended":bool}   (all bytes so far)
//   secret mode, per message (unless quiet): {"message":len,"sha256":hex};
//       when the peer ends, and on "report": {"received":N,"messages":K,
//       "sha256":hex,"ended":bool}, the hash over all messages' bytes in
//       order. With a keepAlive, empty messages are keepalives and are not
//       delivered.
//   Both totals carry "t": the wall clock when they were printed, as E.
//   a UDX or boxed message received: {"datagram":len,"sha256":hex}
//   the stream closed (the raw stream and, in secret mode, the secret
//       stream): {"closed":true,"error":code or message or null,
//       "stats":{...}}, error being the first error of either (ECONNRESET,
//       ETIMEDOUT, ...) and null for a clean close; stats are what
//       udx-native exposes (mtu, rtt, cwnd, inflight, rtoCount, retransmits,
//       fastRecoveries, bytesTransmitted, packetsTransmitted, bytesReceived,
//       packetsReceived) plus, in secret mode, rawBytesWritten and
//       rawBytesRead of the secret stream.
//   a bad order: {"error":text}; a crash: {"fatal":text} and exit 1.
// When stdin closes it destroys the stream, closes the socket and exits,
// within a second at most.
//
// The pattern bytes (so the Rust side can make the same): xorshift32 with
// state x = (S mod 2^32) XOR 0x9e3779b9, or 1 if that is 0; each step
// x ^= x << 13; x ^= x >> 17; x ^= x << 5 (on u32, wrapping), then the 4
// bytes of x little-endian are appended; the first N bytes are the pattern.
// In Rust:
//   let mut x = (seed as u32) ^ 0x9e37_79b9; if x == 0 { x = 1 }
//   while out.len() < n { x ^= x << 13; x ^= x >> 17; x ^= x << 5;
//                         out.extend_from_slice(&x.to_le_bytes()) }
//   out.truncate(n)
// Seed 1 starts 38 66 08 51 3f 53 26 e4; its first 1 MiB (1,048,576 bytes)
// has SHA-256 65d702b9306d2c4a824b3e6e00d818eb29d98eebe44a9a7b5e687d508b67da27.
'use strict'
const crypto = require('crypto')
const readline = require('readline')
const UDX = require('udx-native')
const NoiseSecretStream = require('@hyperswarm/secret-stream')
const { parseArgs } = require('./common')

const HOST = '127.0.0.1'
// The longest the peer takes to exit once stdin closed.
const EXIT_WITHIN_MS = 1000

function out (object) {
  process.stdout.write(JSON.stringify(object) + '\n')
}

function pattern (seed, n) {
  const words = Buffer.allocUnsafe((n + 3) & ~3)
  let x = ((seed >>> 0) ^ 0x9e3779b9) >>> 0
  if (x === 0) x = 1
  for (let i = 0; i < words.length; i += 4) {
    x = (x ^ (x << 13)) >>> 0
    x = (x ^ (x >>> 17)) >>> 0
    x = (x ^ (x << 5)) >>> 0
    words.writeUInt32LE(x, i)
  }
  return words.subarray(0, n)
}

function sha256 (data) {
  return crypto.createHash('sha256').update(data).digest('hex')
}

// The wall clock in milliseconds since the Unix epoch, with a fraction.
function wallClock () {
  return performance.timeOrigin + performance.now()
}

function hexKey (value, name, length) {
  if (value === undefined) return Buffer.alloc(length)
  const buffer = Buffer.from(String(value), 'hex')
  if (buffer.length !== length) throw new Error(`${name} must be ${length} bytes of hex`)
  return buffer
}

function errorCode (err) {
  if (!err) return null
  return err.code || err.message || String(err)
}

const UDX_STATS = [
  'mtu', 'rtt', 'cwnd', 'inflight', 'rtoCount', 'retransmits', 'fastRecoveries',
  'bytesTransmitted', 'packetsTransmitted', 'bytesReceived', 'packetsReceived'
]

function main () {
  const args = parseArgs(process.argv.slice(2))
  const port = args.port === undefined ? 0 : Number(args.port)
  const id = args.id === undefined ? crypto.randomBytes(4).readUInt32LE(0) : Number(args.id) >>> 0

  const udx = new UDX()
  const socket = udx.createSocket()
  socket.bind(port, HOST)
  const raw = udx.createStream(id)

  let secret = null // the NoiseSecretStream once started
  let secretConfig = null // given before connect, started on connect
  let echo = false
  let closed = false
  let rawClosed = false
  let lastError = null
  const received = { bytes: 0, messages: 0, hash: crypto.createHash('sha256'), ended: false }

  const top = () => secret || raw

  function stats () {
    const result = {}
    for (const name of UDX_STATS) {
      try {
        const value = raw[name]
        if (typeof value === 'number') result[name] = value
      } catch {}
    }
    if (secret) {
      result.rawBytesWritten = secret.rawBytesWritten
      result.rawBytesRead = secret.rawBytesRead
    }
    return result
  }

  function report () {
    const line = { received: received.bytes }
    if (secret) line.messages = received.messages
    line.sha256 = received.hash.copy().digest('hex')
    line.ended = received.ended
    line.t = wallClock()
    out(line)
  }

  // Reported once the raw stream closed and, in secret mode, the secret
  // stream too: the secret stream may close before its raw stream's END is
  // acked.
  function onclose () {
    if (closed || !rawClosed || (secret && !secret.destroyed)) return
    closed = true
    out({ closed: true, error: errorCode(lastError), stats: stats() })
  }

  function ondatagram (data) {
    out({ datagram: data.byteLength, sha256: sha256(data) })
  }

  // Raw mode's reader, attached on connect unless secret mode was ordered.
  function onrawdata (data) {
    received.bytes += data.byteLength
    received.hash.update(data)
    if (echo) raw.write(data)
  }

  function onrawend () {
    received.ended = true
    report()
  }

  raw.on('error', (err) => { lastError = lastError || err })
  raw.on('close', () => {
    rawClosed = true
    onclose()
  })

  function startSecret (config) {
    if (typeof config.isInitiator !== 'boolean') throw new Error('secret needs isInitiator')
    if (received.bytes > 0) throw new Error('raw bytes were received already; order secret before connect')
    raw.removeListener('data', onrawdata)
    raw.removeListener('end', onrawend)
    raw.removeListener('message', ondatagram)
    const handshake = {
      tx: hexKey(config.tx, 'tx', 32),
      rx: hexKey(config.rx, 'rx', 32),
      hash: hexKey(config.hash, 'hash', 64),
      publicKey: hexKey(config.publicKey, 'publicKey', 32),
      remotePublicKey: hexKey(config.remotePublicKey, 'remotePublicKey', 32)
    }
    // As hyperdht's lib/connect.js: made without a raw stream and started
    // on it with the finished handshake.
    secret = new NoiseSecretStream(config.isInitiator, null, {
      publicKey: handshake.publicKey,
      remotePublicKey: handshake.remotePublicKey,
      autoStart: false,
      keepAlive: Number(config.keepAlive) || 0
    })
    secret.on('error', (err) => { lastError = lastError || err })
    secret.on('close', onclose)
    const quiet = !!config.quiet
    secret.on('data', (data) => {
      received.bytes += data.byteLength
      received.messages++
      received.hash.update(data)
      if (!quiet) out({ message: data.byteLength, sha256: sha256(data) })
      if (echo) secret.write(data)
    })
    secret.on('end', () => {
      received.ended = true
      report()
    })
    secret.on('message', ondatagram)
    secret.start(raw, { handshake })
    out({ secret: 'started', streamId: NoiseSecretStream.id(handshake.hash, config.isInitiator).toString('hex') })
  }

  function connect (order) {
    const remotePort = Number(order.port)
    const host = order.host || HOST
    const remoteId = Number(order.id) >>> 0
    raw.connect(socket, remoteId, remotePort, host)
    out({ connected: { host, port: remotePort, id: remoteId } })
    if (secretConfig !== null) {
      const config = secretConfig
      secretConfig = null
      startSecret(config)
    } else {
      raw.on('data', onrawdata)
      raw.on('end', onrawend)
      raw.on('message', ondatagram)
    }
  }

  async function send (order) {
    if (secret) throw new Error('send is for raw mode; write sends messages in secret mode')
    if (!raw.connected) throw new Error('not connected')
    const n = Number(order.bytes)
    const data = pattern(Number(order.seed) || 0, n)
    const hash = sha256(data)
    const t0 = wallClock()
    const start = performance.now()
    if (n > 0) raw.write(data)
    const ok = await raw.flush()
    out({ sent: n, ms: Math.round(performance.now() - start), ok, t0, sha256: hash })
  }

  async function write (order) {
    if (!secret) throw new Error('write is for secret mode; send writes raw bytes')
    const n = Number(order.bytes)
    const count = order.count === undefined ? 1 : Number(order.count)
    const seed = Number(order.seed) || 0
    const messages = []
    const hash = crypto.createHash('sha256')
    for (let i = 0; i < count; i++) {
      messages.push(pattern(seed + i, n))
      hash.update(messages[i])
    }
    const digest = hash.digest('hex')
    const t0 = wallClock()
    const start = performance.now()
    for (const message of messages) secret.write(message)
    const ok = await secret.flush()
    out({ written: n * count, messages: count, ms: Math.round(performance.now() - start), ok, t0, sha256: digest })
  }

  async function datagram (order) {
    const data = pattern(Number(order.seed) || 0, Number(order.bytes))
    const ok = await top().send(data)
    out({ datagramSent: data.byteLength, ok: ok !== false })
  }

  const orders = {
    connect,
    secret (config) {
      if (raw.connected) startSecret(config)
      else secretConfig = config
    },
    echo (on) {
      echo = !!on
      out({ echo })
    },
    send,
    write,
    datagram,
    report () { report() },
    stats () { out({ stats: stats() }) },
    end () { top().end() },
    destroy () { top().destroy() }
  }

  function run (name, value) {
    const order = orders[name]
    if (!order) throw new Error(`unknown order ${name}`)
    const result = order(value)
    if (result && typeof result.catch === 'function') {
      result.catch((err) => out({ error: `${name}: ${err.message}` }))
    }
  }

  let exiting = false
  function exit () {
    if (exiting) return
    exiting = true
    setTimeout(() => process.exit(0), EXIT_WITHIN_MS)
    if (secret) secret.destroy()
    raw.destroy()
    socket.close().then(() => process.exit(0), () => process.exit(0))
  }

  const lines = readline.createInterface({ input: process.stdin })
  lines.on('line', (line) => {
    if (!line.trim()) return
    let object
    try {
      object = JSON.parse(line)
    } catch (err) {
      out({ error: `not JSON: ${line}` })
      return
    }
    for (const [name, value] of Object.entries(object)) {
      try {
        run(name, value)
      } catch (err) {
        out({ error: `${name}: ${err.message}` })
      }
    }
  })
  lines.on('close', exit)

  out({ ready: true, host: HOST, port: socket.address().port, id })
}

function fatal (err) {
  out({ fatal: (err && (err.stack || err.message)) || String(err) })
  process.exit(1)
}

process.on('uncaughtException', fatal)
process.on('unhandledRejection', fatal)

try {
  main()
} catch (err) {
  fatal(err)
}
