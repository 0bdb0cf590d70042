//! A fake headend for tests: verifies tags, deduplicates by (card, seq), keeps what it stored.
#![allow(clippy::unwrap_used, dead_code)]

use returnpath::auth::{self, MasterSecret};
use returnpath::wire::{self, Ack, Batch, BatchResponse, CardId, ReasonCode, SignedMessage};
use returnpath::{Tag, Transport, TransportError};
use std::collections::BTreeMap;
use std::sync::Mutex;

#[derive(Default)]
pub struct Ledger {
    /// What was stored, by (card, seq): the first copy, and how many copies arrived.
    pub stored: BTreeMap<(CardId, u64), (SignedMessage, u32)>,
    pub requests: u64,
    pub refused: Vec<(CardId, u64, ReasonCode)>,
}

pub struct FakeHeadend {
    pub master: MasterSecret,
    pub ledger: Mutex<Ledger>,
    /// Answer this many requests with 503 before serving.
    pub busy_for: Mutex<u32>,
    pub retry_after_ms: Option<u64>,
    /// Refuse whole batches that contain a message with this option key.
    pub poison_option: Option<String>,
}

impl FakeHeadend {
    pub fn new(master: MasterSecret) -> FakeHeadend {
        FakeHeadend {
            master,
            ledger: Mutex::new(Ledger::default()),
            busy_for: Mutex::new(0),
            retry_after_ms: None,
            poison_option: None,
        }
    }

    /// The headend's side of a request, as bytes in and bytes out, like HTTP would.
    pub fn handle(&self, body: &[u8]) -> Result<BatchResponse, TransportError> {
        {
            let mut busy = self.busy_for.lock().unwrap();
            if *busy > 0 {
                *busy -= 1;
                return Err(TransportError::Busy {
                    retry_after_ms: self.retry_after_ms,
                });
            }
        }
        let decoded =
            wire::decode_batch(body).map_err(|e| TransportError::Refused { reason: e.reason() })?;
        if let Some(poison) = &self.poison_option {
            let poisoned = decoded.items.iter().flatten().any(
                |m| matches!(&m.message.body, wire::Body::Vote { option, .. } if option == poison),
            );
            if poisoned {
                return Err(TransportError::Refused {
                    reason: ReasonCode::Malformed,
                });
            }
        }
        let mut ledger = self.ledger.lock().unwrap();
        ledger.requests += 1;
        let mut acks = Vec::new();
        for item in decoded.items {
            let message = match item {
                Err(rejected) => {
                    acks.push(rejected.ack());
                    continue;
                }
                Ok(m) => m,
            };
            let card = message.card_id().clone();
            let seq = message.seq();
            let key = auth::derive_card_key(&self.master, &card);
            if auth::verify(&key, &message).is_err() {
                ledger.refused.push((card.clone(), seq, ReasonCode::BadTag));
                acks.push(Ack::rejected(card, seq, ReasonCode::BadTag));
                continue;
            }
            if let wire::Body::Vote { option, .. } = &message.message.body {
                if option == "nonexistent" {
                    ledger
                        .refused
                        .push((card.clone(), seq, ReasonCode::UnknownOption));
                    acks.push(Ack::rejected(card, seq, ReasonCode::UnknownOption));
                    continue;
                }
            }
            match ledger.stored.get_mut(&(card.clone(), seq)) {
                Some((first, copies)) if first.tag == message.tag => {
                    *copies += 1;
                    acks.push(Ack::duplicate(card, seq));
                }
                Some(_) => acks.push(Ack::rejected(card, seq, ReasonCode::ReplayedSeq)),
                None => {
                    ledger.stored.insert((card.clone(), seq), (message, 1));
                    acks.push(Ack::stored(card, seq));
                }
            }
        }
        Ok(BatchResponse {
            acks,
            retry_after_ms: None,
        })
    }

    pub fn stored_tags(&self) -> BTreeMap<(CardId, u64), Tag> {
        self.ledger
            .lock()
            .unwrap()
            .stored
            .iter()
            .map(|(k, (m, _))| (k.clone(), m.tag))
            .collect()
    }
}

impl Transport for FakeHeadend {
    fn send(
        &self,
        batch: Batch,
    ) -> impl std::future::Future<Output = Result<BatchResponse, TransportError>> + Send {
        // Through the bytes, so the test covers encoding and decoding too.
        let result = self.handle(&batch.to_json());
        async move { result }
    }
}
