//! The bytes and the cryptography that dht-rpc and hyperdht agree on, laid
//! out as the JS modules lay them out and checked against them byte for
//! byte: the compact-encoding primitives (`codec`), the dht-rpc envelope
//! (`wire`), hyperdht's messages (`messages`), the crypto over them
//! (`crypto`: namespaces, the holepunch secret, the `SecurePayload` box,
//! host tokens, node ids, announce signatures), and the mutable and
//! immutable records' messages and signature (`records`), and the blind
//! relay's protomux frames and `pair`/`unpair` (`relay`). Pure.
//!
//! `fuzz` hands the decoders to the fuzz bench; it owns no protocol logic.
//!
//! The bottom of the DHT: it uses no other dht folder; every other folder
//! may use it.

mod codec;
pub(crate) mod crypto;
#[cfg(any(test, feature = "testing"))]
pub(crate) mod fuzz;
pub(crate) mod messages;
pub(crate) mod records;
pub(crate) mod relay;
pub(super) mod wire;
