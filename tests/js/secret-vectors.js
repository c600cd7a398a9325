// Reference bytes for hychat's secret stream (src/net/transport/secret/),
// from the installed noise-handshake, noise-curve-ed, sodium-universal and
// @hyperswarm/secret-stream. Prints one JSON object on stdout.
//   node secret-vectors.js            the keys of the transport note (7.3, 7.4)
//   echo '{"a":"01..","b":"02..","ea":"03..","eb":"04..","header":"5a..",
//          "p1":"..","p2":".."}' | node secret-vectors.js -
// Seeds are 32 bytes of hex: a and b are the static keys (a initiates), ea
// and eb the ephemerals; header is the secretstream header (24 bytes); p1
// and p2 the IK payloads.
// Output, for "xx" (empty prologue and payloads) and "ik" (prologue
// NS_PEER_HANDSHAKE, payloads p1 and p2): the handshake messages, h, the
// initiator's tx and rx, both stream ids, the initiator's setup frame and
// the frames of "hello" and "" pushed with the chosen header.
// "stream": the raw bytes a real NoiseSecretStream (initiator, IK keys)
// writes for "hello", 70,000 bytes of 0x61 and a keepalive, with a random
// header, and the responder's rx key and h to read them with.
'use strict'
const path = require('path')

const secretStreamDir = path.dirname(require.resolve('@hyperswarm/secret-stream'))
const fromSecretStream = (name) => require(require.resolve(name, { paths: [secretStreamDir] }))
const NoiseSecretStream = require('@hyperswarm/secret-stream')
const Noise = fromSecretStream('noise-handshake')
const curve = fromSecretStream('noise-curve-ed')
const sodium = fromSecretStream('sodium-universal')
const b4a = fromSecretStream('b4a')
const { Duplex } = fromSecretStream('streamx')

const hyperdhtDir = path.dirname(require.resolve('hyperdht'))
const { NS } = require(require.resolve('hyperdht/lib/constants.js', { paths: [hyperdhtDir] }))

const hex = (b) => b4a.toString(b, 'hex')
const fromHex = (s) => b4a.from(s, 'hex')

const DEFAULTS = {
  a: '01'.repeat(32),
  b: '02'.repeat(32),
  ea: '03'.repeat(32),
  eb: '04'.repeat(32),
  header: '5a'.repeat(24),
  p1: '011a000001c0a8010a49c20100fe443322110001',
  p2: '011a000101cb00710749c20100fe887766550001'
}

function keyPair (seed) {
  return curve.generateKeyPair(fromHex(seed))
}

function frame (body) {
  const out = b4a.alloc(body.byteLength + 3)
  out[0] = body.byteLength & 255
  out[1] = (body.byteLength >>> 8) & 255
  out[2] = (body.byteLength >>> 16) & 255
  out.set(body, 3)
  return out
}

// recv keeps a view of the message and zeroes it at completion: hand it a copy.
const copy = (b) => b4a.from(b)

function handshake (pattern, input, prologue, p1, p2) {
  const i = new Noise(pattern, true, keyPair(input.a), { curve })
  const r = new Noise(pattern, false, keyPair(input.b), { curve })
  i.initialise(prologue, pattern === 'IK' ? keyPair(input.b).publicKey : undefined)
  r.initialise(prologue)
  i.e = keyPair(input.ea)
  r.e = keyPair(input.eb)
  const messages = []
  let m = i.send(p1)
  messages.push(hex(m))
  r.recv(copy(m))
  m = r.send(p2)
  messages.push(hex(m))
  i.recv(copy(m))
  if (pattern === 'XX') {
    m = i.send(p1)
    messages.push(hex(m))
    r.recv(copy(m))
  }
  return { i, r, messages }
}

// The setup frame and two pushed messages, with the chosen header:
// init_pull(state, header, key) leaves the state init_push would.
function stream (i, header) {
  const idI = NoiseSecretStream.id(i.hash, true)
  const idR = NoiseSecretStream.id(i.hash, false)
  const state = b4a.alloc(sodium.crypto_secretstream_xchacha20poly1305_STATEBYTES)
  sodium.crypto_secretstream_xchacha20poly1305_init_pull(state, header, i.tx.subarray(0, 32))
  const push = (plain) => {
    const c = b4a.alloc(plain.byteLength + sodium.crypto_secretstream_xchacha20poly1305_ABYTES)
    sodium.crypto_secretstream_xchacha20poly1305_push(
      state, c, plain, null, sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE)
    return frame(c)
  }
  return {
    h: hex(i.hash),
    tx: hex(i.tx),
    rx: hex(i.rx),
    idI: hex(idI),
    idR: hex(idR),
    setup: hex(frame(b4a.concat([idI, header]))),
    hello: hex(push(b4a.from('hello'))),
    empty: hex(push(b4a.alloc(0)))
  }
}

// A real NoiseSecretStream writing into a capturing raw stream.
async function realStream (i, r) {
  const written = []
  const raw = new Duplex({
    write (data, cb) {
      written.push(b4a.from(data))
      cb(null)
    }
  })
  const s = new NoiseSecretStream(true, raw, {
    handshake: { tx: i.tx, rx: i.rx, hash: i.hash, publicKey: i.s.publicKey, remotePublicKey: i.rs },
    keepAlive: 5000
  })
  await s.opened
  s.write(b4a.from('hello'))
  s.write(b4a.alloc(70000, 0x61))
  s.sendKeepAlive()
  await new Promise((resolve) => setTimeout(resolve, 200))
  s.destroy()
  return { wire: hex(b4a.concat(written)), rx: hex(r.rx), tx: hex(r.tx), h: hex(r.hash) }
}

async function main () {
  let input = DEFAULTS
  if (process.argv[2] === '-') {
    const chunks = []
    for await (const chunk of process.stdin) chunks.push(chunk)
    input = { ...DEFAULTS, ...JSON.parse(b4a.toString(b4a.concat(chunks))) }
  }
  const header = fromHex(input.header)
  const xx = handshake('XX', input, b4a.alloc(0), b4a.alloc(0), b4a.alloc(0))
  const ik = handshake('IK', input, NS.PEER_HANDSHAKE, fromHex(input.p1), fromHex(input.p2))
  const dh = curve.dh(keyPair(input.b).publicKey, keyPair(input.a))
  const out = {
    publicKeys: [input.a, input.b, input.ea, input.eb].map((s) => hex(keyPair(s).publicKey)),
    dh: hex(dh),
    xx: { messages: xx.messages, ...stream(xx.i, header) },
    ik: { messages: ik.messages, ...stream(ik.i, header), serverLearned: hex(ik.r.rs) },
    stream: await realStream(ik.i, ik.r)
  }
  process.stdout.write(JSON.stringify(out, null, 2) + '\n')
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
