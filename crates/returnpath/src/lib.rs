//! The return channel's wire protocol and the set-top box's side of it.
//!
//! A household presses a key; its box builds a message (a vote, a comment, or "notice seen"),
//! signs it with its card's key, queues it in an outbox kept on disk, and sends it upstream in
//! batches until the headend acknowledges it. The upstream link loses, duplicates, reorders and
//! delays; every message carries its card id and a per-card sequence number, so the headend can
//! deduplicate and every message lands exactly once.
//!
//! - [`wire`]: messages, batches, acknowledgements, reason codes; the strict decoder.
//! - [`auth`]: per-card keys (HKDF-SHA256), canonical bytes, tags (HMAC-SHA256).
//! - [`outbox`]: the box's append-only log; a power cut loses nothing.
//! - [`send`]: the transport trait and the retrying send loop.
//! - [`link`]: a lossy-link simulator, seeded.
//! - `http` (feature `http`): an HTTP/1.1 transport on hyper-util's client.
//!
//! The protocol is specified in `docs/return-channel.md`; the headend's ingest (verifying,
//! deduplicating, storing) lives in the server crate and uses the types here.
//!
//! ```
//! use returnpath::{Ack, Body, CardId, MasterSecret, Outbox, auth, wire};
//!
//! let master = MasterSecret::from_bytes([7; 32]);
//! let card = CardId::parse("8610012345678901")?;
//! let key = auth::derive_card_key(&master, &card);
//!
//! // The box: queue a vote (an in-memory outbox here; `Outbox::open(path, ..)` on a box).
//! let mut outbox = Outbox::in_memory(card.clone(), key.clone());
//! let seq = outbox.enqueue(Body::Vote { topic_id: 42, option: "approve".into() }, 1_764_000_000)?;
//! let body = wire::Batch { messages: outbox.pending() }.to_json();
//!
//! // The headend: decode, verify, acknowledge.
//! let batch = wire::decode_batch(&body)?;
//! let message = batch.items[0].as_ref().map_err(|r| r.error.clone())?;
//! auth::verify(&auth::derive_card_key(&master, message.card_id()), message)?;
//!
//! // The box again: the acknowledgement settles the message.
//! outbox.acknowledge(&Ack::stored(card, seq))?;
//! assert!(outbox.is_empty());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod auth;
#[cfg(feature = "http")]
pub mod http;
pub mod link;
pub mod outbox;
pub mod rng;
pub mod send;
pub mod wire;

pub use auth::{
    CardKey, CardKeys, MasterSecret, Tag, VerifyError, canonical_bytes, derive_card_key, sign,
    sign_message, verify,
};
pub use link::{LinkConfig, LinkStats, LossyLink, Outage};
pub use outbox::{Outbox, OutboxError, Rejection, Settled};
pub use rng::SplitMix64;
pub use send::{
    Backoff, SendConfig, SendError, SendReport, Transport, TransportError, drain, interpret_answer,
};
pub use wire::{
    Ack, AckStatus, Batch, BatchError, BatchRefusal, BatchResponse, Body, CardId, DecodedBatch,
    Kind, Message, MessageError, ReasonCode, RejectedMessage, SignedMessage, check_close,
    decode_batch, decode_response,
};
