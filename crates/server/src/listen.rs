//! The headend's listening socket, with an accept queue deep enough for a city's boxes.

use std::io;
use std::net::SocketAddr;
use tokio::net::{TcpListener, TcpSocket};

/// How many connections may wait, handshake done, for the server to accept them. Linux caps it
/// at `net.core.somaxconn` (4,096 by default since 5.4).
///
/// Why not tokio's `TcpListener::bind`: it listens with a queue of 128, like the standard
/// library. When more boxes than that connect at once (after a headend restart, or the
/// benchmark's 1,000 boxes), the kernel drops the handshakes that overflow it; those boxes
/// believe they are connected, and their first requests wait for TCP's retransmission timers.
/// In `cargo bench -p server --bench ingest` that was about 8,000 overflows a run, and the p99
/// at 10,000 votes a second measured 40-217 ms in half of the 2 s runs; with this queue there
/// were none, and the p99 was 2.5-5 ms in every run.
pub const LISTEN_BACKLOG: u32 = 4096;

/// Listens on `address` (`host:port`; the first of its addresses that can be bound) with
/// [`LISTEN_BACKLOG`].
pub async fn listen(address: &str) -> io::Result<TcpListener> {
    let mut refused = None;
    for resolved in tokio::net::lookup_host(address).await? {
        match listen_on(resolved) {
            Ok(listener) => return Ok(listener),
            Err(error) => refused = Some(error),
        }
    }
    Err(refused.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{address} names no address to listen on"),
        )
    }))
}

fn listen_on(address: SocketAddr) -> io::Result<TcpListener> {
    let socket = if address.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    // As tokio and the standard library do: a restarted headend can listen again at once,
    // while the last one's connections linger in TIME_WAIT. (Not on Windows, where it would let
    // another process take over the port.)
    #[cfg(not(windows))]
    socket.set_reuseaddr(true)?;
    socket.bind(address)?;
    socket.listen(LISTEN_BACKLOG)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn listens_on_a_free_port_and_accepts() {
        let listener = listen("127.0.0.1:0").await.expect("a free port");
        let address = listener.local_addr().expect("an address");
        let connecting = tokio::net::TcpStream::connect(address);
        let (accepted, connected) = tokio::join!(listener.accept(), connecting);
        assert!(accepted.is_ok() && connected.is_ok());
    }

    #[tokio::test]
    async fn an_address_that_is_not_one_is_refused_with_a_message() {
        let error = listen("not an address").await.expect_err("refused");
        assert!(!error.to_string().is_empty());
        let error = listen("127.0.0.1:99999").await.expect_err("refused");
        assert!(!error.to_string().is_empty());
    }
}
