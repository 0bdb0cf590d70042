//! The HTTP transport against a minimal HTTP/1.1 headend on loopback: batches go through, the
//! connection is kept alive, and statuses map onto the send loop.
#![cfg(feature = "http")]
#![allow(clippy::unwrap_used)]

mod common;

use common::FakeHeadend;
use returnpath::auth::{self, MasterSecret};
use returnpath::http::HttpTransport;
use returnpath::wire::{BatchRefusal, Body, CardId};
use returnpath::{Outbox, SendConfig, TransportError, drain};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const MASTER: [u8; 32] = [0x42; 32];

async fn serve(listener: TcpListener, headend: Arc<FakeHeadend>, connections: Arc<AtomicUsize>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        connections.fetch_add(1, Ordering::SeqCst);
        let headend = headend.clone();
        tokio::spawn(async move {
            let _ = connection(stream, &headend).await;
        });
    }
}

/// One keep-alive connection: requests one after another, each with a Content-Length body.
async fn connection(mut stream: TcpStream, headend: &FakeHeadend) -> std::io::Result<()> {
    let mut buffer = Vec::new();
    loop {
        let head_end = loop {
            if let Some(i) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let mut chunk = [0u8; 4096];
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buffer.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buffer[..head_end]).to_ascii_lowercase();
        assert!(head.starts_with("post /rc/v1/messages http/1.1"), "{head}");
        assert!(head.contains("content-type: application/json"), "{head}");
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        while buffer.len() < head_end + length {
            let mut chunk = [0u8; 4096];
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buffer.extend_from_slice(&chunk[..n]);
        }
        let body: Vec<u8> = buffer.drain(..head_end + length).skip(head_end).collect();
        let (status, answer) = match headend.handle(&body) {
            Ok(response) => ("200 OK", serde_json::to_vec(&response).unwrap()),
            Err(TransportError::Busy { retry_after_ms }) => (
                "503 Service Unavailable",
                serde_json::to_vec(&BatchRefusal::overloaded(retry_after_ms.unwrap_or(100)))
                    .unwrap(),
            ),
            Err(other) => panic!("{other}"),
        };
        let head = format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            answer.len()
        );
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(&answer).await?;
    }
}

#[tokio::test]
async fn batches_go_over_one_kept_alive_connection() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let mut headend = FakeHeadend::new(MasterSecret::from_bytes(MASTER));
    headend.retry_after_ms = Some(20);
    *headend.busy_for.lock().unwrap() = 1;
    let headend = Arc::new(headend);
    let connections = Arc::new(AtomicUsize::new(0));
    tokio::spawn(serve(listener, headend.clone(), connections.clone()));

    let transport = HttpTransport::new(&format!("http://{address}/")).unwrap();
    let card = CardId::parse("8610012345678901").unwrap();
    let key = auth::derive_card_key(&MasterSecret::from_bytes(MASTER), &card);
    let mut outbox = Outbox::in_memory(card, key);
    for i in 0..600 {
        outbox
            .enqueue(
                Body::Vote {
                    topic_id: 1,
                    option: "approve".into(),
                },
                i,
            )
            .unwrap();
    }
    let report = drain(&mut outbox, &transport, &SendConfig::default())
        .await
        .unwrap();
    assert!(outbox.is_empty());
    assert_eq!(
        (report.stored, report.failures, report.attempts),
        (600, 1, 4)
    );
    assert_eq!(headend.stored_tags().len(), 600);
    assert_eq!(connections.load(Ordering::SeqCst), 1);
}

#[test]
fn only_http_urls_are_taken() {
    assert!(HttpTransport::new("http://127.0.0.1:8080").is_ok());
    assert!(HttpTransport::new("https://example.org").is_err());
    assert!(HttpTransport::new("not a url").is_err());
}
