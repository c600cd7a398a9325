//! UDX as libudx speaks it: the packet codec (`wire.rs`), one stream's
//! state machine (`stream.rs`, sans-IO: packets and `now` in, datagrams and
//! timers out) and its congestion control (`cc.rs`); `socket.rs` is the
//! tokio driver that does their IO. `link.rs` is what a blind relay's
//! link end decides for each packet it passes on (the socket holds them).

pub(crate) mod cc;
pub(crate) mod link;
pub(crate) mod socket;
pub(crate) mod stream;
pub(crate) mod wire;
