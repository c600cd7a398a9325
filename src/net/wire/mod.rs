//! hychat's own protocol extensions, carried as hypercore-protocol
//! `Extension` messages: the hello, the keepalive and the room hello. Pure encoders and decoders; nothing here panics on input.

pub(crate) mod hello;
pub(crate) mod keepalive;
pub(crate) mod room_hello;
