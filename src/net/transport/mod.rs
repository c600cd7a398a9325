//! hychat's own transport, under every DHT connection: UDX streams over UDP
//! (`udx/`), the secret stream on top of them (`secret/`), and the two
//! joined as the connection hypercore-protocol reads and writes
//! (`session.rs`), wire-compatible
//! with libudx / udx-native and @hyperswarm/secret-stream. The protocol map
//! is `docs/architecture.md §2` ("The transport") and the shared transport
//! note; each decision is pure and takes `now`, and the socket driver is the
//! only IO. `bench.rs` hands the transport bench thin handles of it.

#[cfg(any(test, feature = "testing"))]
pub mod bench;
#[cfg(any(test, feature = "testing"))]
pub(crate) mod fuzz;
pub(crate) mod secret;
pub(crate) mod session;
pub(crate) mod udx;

#[cfg(test)]
mod impair_tests;
#[cfg(test)]
mod js_tests;
#[cfg(test)]
mod tests;
