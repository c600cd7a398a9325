//! The secret stream as @hyperswarm/secret-stream runs it: the Noise
//! handshakes (`noise.rs`: IK as hyperdht runs it, XX as the stream's
//! default), the length-prefixed frames (`frame.rs`) and the encrypted
//! stream itself (`stream.rs`, sans-IO: the setup frame, secretstream
//! push and pull, the keepalive).

pub(crate) mod frame;
pub(crate) mod noise;
pub(crate) mod stream;
