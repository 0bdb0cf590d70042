//! The wire format of the return channel: the messages a box sends, the batch that carries them,
//! the acknowledgement the headend answers with, and the reason codes of a refusal.
//!
//! These types are the boundary: plain data, versioned by the URL path (`/rc/v1/...`) and
//! documented in `docs/return-channel.md`. The domain's own types (households, topics, votes) are
//! not the wire; the server converts.
//!
//! Decoding a batch is strict (unknown fields, `null`s, duplicate keys, wrong types and oversize
//! input are refused) and never panics. It reports per message, so one bad message in a batch
//! does not cost the others their delivery: see [`decode_batch`].

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::value::RawValue;
use std::fmt;
use std::str::FromStr;

use crate::auth::Tag;

/// The path a box posts batches to.
pub const PATH: &str = "/rc/v1/messages";
/// The content type of requests and responses.
pub const CONTENT_TYPE: &str = "application/json";
/// At most this many messages in one batch.
pub const MAX_BATCH_MESSAGES: usize = 256;
/// At most this many bytes in one request body.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// At most this many Unicode scalar values (Rust `char`s) in a comment's text.
pub const MAX_TEXT_CHARS: usize = 200;
/// At most this many bytes in a ballot option's key.
pub const MAX_OPTION_KEY_BYTES: usize = 64;

/// A smart-card id: the box's identity on the cable network, exactly 16 ASCII digits.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CardId(String);

/// A string that is not 16 ASCII digits was offered as a card id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a card id: a card id is exactly 16 ASCII digits")]
pub struct CardIdError(pub String);

impl CardId {
    /// Checks the form: exactly 16 ASCII digits.
    pub fn parse(text: &str) -> Result<CardId, CardIdError> {
        if text.len() == 16 && text.bytes().all(|b| b.is_ascii_digit()) {
            Ok(CardId(text.to_owned()))
        } else {
            // Keep the error small: the text may come from anyone on the network.
            Err(CardIdError(text.chars().take(40).collect()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CardId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for CardId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CardId({})", self.0)
    }
}

impl FromStr for CardId {
    type Err = CardIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CardId::parse(s)
    }
}

impl Serialize for CardId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for CardId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        CardId::parse(&text).map_err(de::Error::custom)
    }
}

/// The kind of a message, as its `kind` field spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Vote,
    Comment,
    NoticeSeen,
}

impl Kind {
    /// The byte that stands for the kind in the canonical bytes.
    pub const fn code(self) -> u8 {
        match self {
            Kind::Vote => 1,
            Kind::Comment => 2,
            Kind::NoticeSeen => 3,
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Kind::Vote => "vote",
            Kind::Comment => "comment",
            Kind::NoticeSeen => "notice_seen",
        }
    }
}

/// What a message says, by kind.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Body {
    /// The household chooses `option` (a key of the topic's ballot) on a topic.
    Vote { topic_id: i64, option: String },
    /// The household comments on a topic (1 to 200 characters).
    Comment { topic_id: i64, text: String },
    /// The household has seen a notice (a read receipt for grid workers).
    NoticeSeen { notice_id: i64 },
}

impl Body {
    pub fn kind(&self) -> Kind {
        match self {
            Body::Vote { .. } => Kind::Vote,
            Body::Comment { .. } => Kind::Comment,
            Body::NoticeSeen { .. } => Kind::NoticeSeen,
        }
    }

    /// Checks what the wire limits say about the body's own fields. The box checks before it
    /// queues a message (so a household hears "too long" at once); the headend checks again.
    pub fn validate(&self) -> Result<(), MessageError> {
        match self {
            Body::Vote { option, .. } => check_option_key(option),
            Body::Comment { text, .. } => check_text(text),
            Body::NoticeSeen { .. } => Ok(()),
        }
    }
}

/// One message, before it is signed.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Message {
    pub card_id: CardId,
    /// Per card, 1, 2, 3, ...: assigned once by the box's outbox, never reused.
    pub seq: u64,
    /// When the box created and signed the message, in Unix seconds (UTC). Retries resend the
    /// same value: it is part of what is signed.
    pub sent_at: i64,
    pub body: Body,
}

/// A message with its tag: what travels on the wire and what the outbox keeps.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SignedMessage {
    pub message: Message,
    pub tag: Tag,
}

impl SignedMessage {
    pub fn card_id(&self) -> &CardId {
        &self.message.card_id
    }

    pub fn seq(&self) -> u64 {
        self.message.seq
    }
}

/// Why a single message is refused by the decoder (the headend adds its own reasons later, see
/// [`ReasonCode`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    #[error("the message is malformed: {0}")]
    Malformed(String),
    #[error("the tag has {0} hex digits; a tag has 64")]
    TruncatedTag(usize),
    #[error("the text has {0} characters; at most 200 are allowed")]
    TextTooLong(usize),
    #[error("the text is empty or only white space")]
    EmptyText,
    #[error("the text contains a control character other than a line feed")]
    InvalidText,
}

impl MessageError {
    /// The reason code the headend sends back for this error.
    pub fn reason(&self) -> ReasonCode {
        match self {
            MessageError::Malformed(_) => ReasonCode::Malformed,
            MessageError::TruncatedTag(_) => ReasonCode::TruncatedTag,
            MessageError::TextTooLong(_) => ReasonCode::TextTooLong,
            MessageError::EmptyText => ReasonCode::EmptyText,
            MessageError::InvalidText => ReasonCode::InvalidText,
        }
    }
}

fn check_text(text: &str) -> Result<(), MessageError> {
    let chars = text.chars().count();
    if chars > MAX_TEXT_CHARS {
        return Err(MessageError::TextTooLong(chars));
    }
    if text.trim().is_empty() {
        return Err(MessageError::EmptyText);
    }
    // A line feed is how a multi-line comment is written; other control characters have no
    // business on a TV screen and would let one comment redraw another's lines.
    if text.chars().any(|c| c.is_control() && c != '\n') {
        return Err(MessageError::InvalidText);
    }
    Ok(())
}

fn check_option_key(option: &str) -> Result<(), MessageError> {
    let ok = !option.is_empty()
        && option.len() <= MAX_OPTION_KEY_BYTES
        && option
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(MessageError::Malformed(format!(
            "option must be 1 to {MAX_OPTION_KEY_BYTES} characters of a-z, 0-9, '_' or '-'"
        )))
    }
}

/// The flat JSON object of one message. Flat rather than a serde-tagged enum so that the decoder
/// can say precisely which field is missing or out of place, and so that `deny_unknown_fields`
/// holds (serde's internally tagged enums buffer their content and lose it).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireMessage<'a> {
    kind: Kind,
    #[serde(borrow)]
    card_id: std::borrow::Cow<'a, str>,
    seq: u64,
    sent_at: i64,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    topic_id: Option<i64>,
    #[serde(
        default,
        borrow,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    option: Option<std::borrow::Cow<'a, str>>,
    #[serde(
        default,
        borrow,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    text: Option<std::borrow::Cow<'a, str>>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    notice_id: Option<i64>,
    #[serde(borrow)]
    tag: std::borrow::Cow<'a, str>,
}

/// An optional field may be absent but never `null`: `null` would be a second spelling of
/// "absent", and a strict format has one spelling for each thing.
fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

impl<'a> WireMessage<'a> {
    fn from_signed(signed: &'a SignedMessage) -> WireMessage<'a> {
        let m = &signed.message;
        let (topic_id, option, text, notice_id) = match &m.body {
            Body::Vote { topic_id, option } => (Some(*topic_id), Some(option.as_str()), None, None),
            Body::Comment { topic_id, text } => (Some(*topic_id), None, Some(text.as_str()), None),
            Body::NoticeSeen { notice_id } => (None, None, None, Some(*notice_id)),
        };
        WireMessage {
            kind: m.body.kind(),
            card_id: m.card_id.as_str().into(),
            seq: m.seq,
            sent_at: m.sent_at,
            topic_id,
            option: option.map(Into::into),
            text: text.map(Into::into),
            notice_id,
            tag: signed.tag.to_hex().into(),
        }
    }

    fn into_signed(self) -> Result<SignedMessage, MessageError> {
        let card_id = CardId::parse(&self.card_id)
            .map_err(|e| MessageError::Malformed(format!("card_id: {e}")))?;
        if self.seq == 0 {
            return Err(MessageError::Malformed("seq starts at 1".into()));
        }
        let extra = |field: &str| {
            MessageError::Malformed(format!("a {} has no field {field}", self.kind.as_str()))
        };
        let missing = |field: &str| {
            MessageError::Malformed(format!("a {} needs the field {field}", self.kind.as_str()))
        };
        let body = match self.kind {
            Kind::Vote => {
                if self.text.is_some() {
                    return Err(extra("text"));
                }
                if self.notice_id.is_some() {
                    return Err(extra("notice_id"));
                }
                Body::Vote {
                    topic_id: self.topic_id.ok_or_else(|| missing("topic_id"))?,
                    option: self.option.ok_or_else(|| missing("option"))?.into_owned(),
                }
            }
            Kind::Comment => {
                if self.option.is_some() {
                    return Err(extra("option"));
                }
                if self.notice_id.is_some() {
                    return Err(extra("notice_id"));
                }
                Body::Comment {
                    topic_id: self.topic_id.ok_or_else(|| missing("topic_id"))?,
                    text: self.text.ok_or_else(|| missing("text"))?.into_owned(),
                }
            }
            Kind::NoticeSeen => {
                if self.topic_id.is_some() {
                    return Err(extra("topic_id"));
                }
                if self.option.is_some() {
                    return Err(extra("option"));
                }
                if self.text.is_some() {
                    return Err(extra("text"));
                }
                Body::NoticeSeen {
                    notice_id: self.notice_id.ok_or_else(|| missing("notice_id"))?,
                }
            }
        };
        let tag = Tag::parse_hex(&self.tag)?;
        body.validate()?;
        Ok(SignedMessage {
            message: Message {
                card_id,
                seq: self.seq,
                sent_at: self.sent_at,
                body,
            },
            tag,
        })
    }
}

impl Serialize for SignedMessage {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        WireMessage::from_signed(self).serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for SignedMessage {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Borrowing is not possible for every deserializer (escaped strings), so this path
        // owns its strings; the hot path (`decode_batch`) borrows through `from_str`.
        let wire = WireMessage::deserialize(deserializer)?;
        wire.into_signed().map_err(de::Error::custom)
    }
}

/// The body of `POST /rc/v1/messages`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Batch {
    pub messages: Vec<SignedMessage>,
}

impl Batch {
    /// The JSON bytes of the request body.
    pub fn to_json(&self) -> Vec<u8> {
        // Serialising plain strings and integers into a Vec cannot fail; fall back to an empty
        // batch rather than panic if serde_json ever changes its mind.
        serde_json::to_vec(self).unwrap_or_else(|_| b"{\"messages\":[]}".to_vec())
    }
}

/// A message of a batch that the decoder refused, with what is needed to acknowledge it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedMessage {
    pub card_id: CardId,
    pub seq: u64,
    pub error: MessageError,
}

impl RejectedMessage {
    /// The acknowledgement the headend sends for it.
    pub fn ack(&self) -> Ack {
        Ack::rejected(self.card_id.clone(), self.seq, self.error.reason())
    }
}

/// A decoded batch: every message in order, each either decoded or refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedBatch {
    pub items: Vec<Result<SignedMessage, RejectedMessage>>,
}

/// Why a whole batch is refused (the headend answers with a [`BatchRefusal`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    #[error("the body has {0} bytes; at most {MAX_BODY_BYTES} are allowed")]
    BodyTooLarge(usize),
    #[error("the batch has {0} messages; at most {MAX_BATCH_MESSAGES} are allowed")]
    TooManyMessages(usize),
    #[error("the body is not a batch: {0}")]
    Malformed(String),
}

impl BatchError {
    pub fn reason(&self) -> ReasonCode {
        match self {
            BatchError::BodyTooLarge(_) | BatchError::TooManyMessages(_) => {
                ReasonCode::BatchTooLarge
            }
            BatchError::Malformed(_) => ReasonCode::Malformed,
        }
    }

    /// The HTTP status the headend answers with: 413 for too large, 400 otherwise.
    pub fn http_status(&self) -> u16 {
        match self {
            BatchError::BodyTooLarge(_) | BatchError::TooManyMessages(_) => 413,
            BatchError::Malformed(_) => 400,
        }
    }

    /// The body the headend answers with (HTTP 413 for too large, 400 otherwise).
    pub fn refusal(&self) -> BatchRefusal {
        BatchRefusal {
            error: self.reason(),
            detail: Some(self.to_string()),
            retry_after_ms: None,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireBatch<'a> {
    #[serde(borrow)]
    messages: Vec<&'a RawValue>,
}

/// Only the fields that address an acknowledgement, read from a message that failed to decode.
#[derive(Deserialize)]
struct Address {
    card_id: String,
    seq: u64,
}

/// Decodes a request body. Never panics, whatever the bytes.
///
/// The whole batch is refused only when it is too large, is not a `{"messages": [...]}` object,
/// or holds a message without a readable `card_id` and `seq` (such a message cannot be
/// acknowledged, so refusing the batch is the only answer the box can act on). Every other
/// problem refuses just its message.
pub fn decode_batch(body: &[u8]) -> Result<DecodedBatch, BatchError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(BatchError::BodyTooLarge(body.len()));
    }
    let text =
        std::str::from_utf8(body).map_err(|e| BatchError::Malformed(format!("not UTF-8: {e}")))?;
    let batch: WireBatch<'_> =
        serde_json::from_str(text).map_err(|e| BatchError::Malformed(e.to_string()))?;
    if batch.messages.len() > MAX_BATCH_MESSAGES {
        return Err(BatchError::TooManyMessages(batch.messages.len()));
    }
    let mut items = Vec::with_capacity(batch.messages.len());
    for (index, raw) in batch.messages.into_iter().enumerate() {
        match decode_message(raw.get()) {
            Ok(item) => items.push(item),
            Err(why) => return Err(BatchError::Malformed(format!("message {index}: {why}"))),
        }
    }
    Ok(DecodedBatch { items })
}

/// Decodes one message of a batch. `Err` only when the message cannot even be addressed (no
/// readable card id and seq); the text says why.
fn decode_message(text: &str) -> Result<Result<SignedMessage, RejectedMessage>, String> {
    let decoded = serde_json::from_str::<WireMessage<'_>>(text)
        .map_err(|e| MessageError::Malformed(e.to_string()))
        .and_then(WireMessage::into_signed);
    let error = match decoded {
        Ok(signed) => return Ok(Ok(signed)),
        Err(error) => error,
    };
    let address = serde_json::from_str::<Address>(text).ok().and_then(|a| {
        CardId::parse(&a.card_id)
            .ok()
            .map(|card_id| (card_id, a.seq))
    });
    match address {
        Some((card_id, seq)) => Ok(Err(RejectedMessage {
            card_id,
            seq,
            error,
        })),
        None => Err(format!(
            "no valid card_id and seq to acknowledge it by ({error})"
        )),
    }
}

/// What became of one message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AckStatus {
    /// Stored durably by this request.
    Stored,
    /// Stored earlier (the same card and seq, the same tag): delivered, nothing changed.
    Duplicate,
    /// Refused for good, with a reason; resending the same message gets the same answer.
    Rejected,
}

/// The acknowledgement of one message.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Ack {
    pub card_id: CardId,
    pub seq: u64,
    pub status: AckStatus,
    /// Present exactly when `status` is `rejected`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<ReasonCode>,
}

impl Ack {
    pub fn stored(card_id: CardId, seq: u64) -> Ack {
        Ack {
            card_id,
            seq,
            status: AckStatus::Stored,
            reason: None,
        }
    }

    pub fn duplicate(card_id: CardId, seq: u64) -> Ack {
        Ack {
            card_id,
            seq,
            status: AckStatus::Duplicate,
            reason: None,
        }
    }

    pub fn rejected(card_id: CardId, seq: u64, reason: ReasonCode) -> Ack {
        Ack {
            card_id,
            seq,
            status: AckStatus::Rejected,
            reason: Some(reason),
        }
    }
}

/// The body of a `200 OK` answer to a batch.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchResponse {
    /// One per message of the batch, in the batch's order.
    pub acks: Vec<Ack>,
    /// The headend is loaded: send the next batch no sooner than this many milliseconds from now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
}

/// The body of an answer that refuses the whole batch (HTTP 400, 413) or asks the box to come
/// back later (HTTP 503, with `retry_after_ms`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchRefusal {
    pub error: ReasonCode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
}

impl BatchRefusal {
    /// The body of a 503: the headend cannot take the batch now; nothing was stored.
    pub fn overloaded(retry_after_ms: u64) -> BatchRefusal {
        BatchRefusal {
            error: ReasonCode::Overloaded,
            detail: None,
            retry_after_ms: Some(retry_after_ms),
        }
    }
}

/// An answer body the box cannot read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the headend's answer is not readable: {0}")]
pub struct ResponseError(pub String);

/// Decodes a `200 OK` answer. Lenient where the request decoder is strict: unknown fields are
/// ignored, so the headend can add fields without breaking boxes in the field.
pub fn decode_response(body: &[u8]) -> Result<BatchResponse, ResponseError> {
    serde_json::from_slice(body).map_err(|e| ResponseError(e.to_string()))
}

/// Decodes the body of a refused batch (HTTP 4xx or 503).
pub fn decode_refusal(body: &[u8]) -> Result<BatchRefusal, ResponseError> {
    serde_json::from_slice(body).map_err(|e| ResponseError(e.to_string()))
}

/// Why the headend refused a message or a batch. The strings are stable: boxes in the field
/// match on them, and the server counts refusals by them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasonCode {
    /// Not valid JSON, a missing or unknown field, a wrong type, a card id that is not 16
    /// digits, seq 0, an option key of the wrong form, a tag that is not lowercase hex.
    Malformed,
    /// More than 256 messages, or a body over 256 KiB (batch level only).
    BatchTooLarge,
    /// The tag is lowercase hex but shorter than 64 digits.
    TruncatedTag,
    /// The tag does not match the message under the card's key (forged or altered).
    BadTag,
    /// The headend knows no box with this card id.
    UnknownCard,
    /// This card already used this seq for a different message.
    ReplayedSeq,
    /// The household is outside the area the topic (or notice) is for.
    NotEligible,
    /// No such topic.
    UnknownTopic,
    /// The topic exists but is not yet in consultation.
    TopicNotOpen,
    /// The topic's consultation is over, and the message was signed after the close.
    TopicClosed,
    /// Signed before the close but arrived after the grace period.
    PastGracePeriod,
    /// The topic's ballot has no such option.
    UnknownOption,
    /// No such notice.
    UnknownNotice,
    /// A comment longer than 200 characters.
    TextTooLong,
    /// A comment that is empty or only white space.
    EmptyText,
    /// A comment with a control character other than a line feed.
    InvalidText,
    /// `sent_at` is further in the future than the headend tolerates.
    SentInFuture,
    /// The headend is overloaded or its store is unavailable (batch level, HTTP 503): nothing
    /// was stored; come back after `retry_after_ms`.
    Overloaded,
    /// This card sent more messages than the headend takes from one box (batch level, HTTP
    /// 429): nothing was stored; come back after `retry_after_ms`, like `Overloaded`.
    RateLimited,
    /// A code this version does not know (a newer headend). Never sent; a box treats it like
    /// any refusal: final, not retried.
    #[serde(other)]
    Unrecognized,
}

impl ReasonCode {
    /// Every code, in documentation order.
    pub const ALL: [ReasonCode; 20] = [
        ReasonCode::Malformed,
        ReasonCode::BatchTooLarge,
        ReasonCode::TruncatedTag,
        ReasonCode::BadTag,
        ReasonCode::UnknownCard,
        ReasonCode::ReplayedSeq,
        ReasonCode::NotEligible,
        ReasonCode::UnknownTopic,
        ReasonCode::TopicNotOpen,
        ReasonCode::TopicClosed,
        ReasonCode::PastGracePeriod,
        ReasonCode::UnknownOption,
        ReasonCode::UnknownNotice,
        ReasonCode::TextTooLong,
        ReasonCode::EmptyText,
        ReasonCode::InvalidText,
        ReasonCode::SentInFuture,
        ReasonCode::Overloaded,
        ReasonCode::RateLimited,
        ReasonCode::Unrecognized,
    ];

    /// The stable snake_case string, as on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            ReasonCode::Malformed => "malformed",
            ReasonCode::BatchTooLarge => "batch_too_large",
            ReasonCode::TruncatedTag => "truncated_tag",
            ReasonCode::BadTag => "bad_tag",
            ReasonCode::UnknownCard => "unknown_card",
            ReasonCode::ReplayedSeq => "replayed_seq",
            ReasonCode::NotEligible => "not_eligible",
            ReasonCode::UnknownTopic => "unknown_topic",
            ReasonCode::TopicNotOpen => "topic_not_open",
            ReasonCode::TopicClosed => "topic_closed",
            ReasonCode::PastGracePeriod => "past_grace_period",
            ReasonCode::UnknownOption => "unknown_option",
            ReasonCode::UnknownNotice => "unknown_notice",
            ReasonCode::TextTooLong => "text_too_long",
            ReasonCode::EmptyText => "empty_text",
            ReasonCode::InvalidText => "invalid_text",
            ReasonCode::SentInFuture => "sent_in_future",
            ReasonCode::Overloaded => "overloaded",
            ReasonCode::RateLimited => "rate_limited",
            ReasonCode::Unrecognized => "unrecognized",
        }
    }
}

impl fmt::Display for ReasonCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ReasonCode {
    type Err = ();
    /// Parses a wire string; an unknown one is an error here (use serde for the lenient path).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ReasonCode::ALL
            .iter()
            .copied()
            .find(|code| code.as_str() == s)
            .ok_or(())
    }
}

/// How long after a topic closes the headend still takes a vote signed before the close.
pub const DEFAULT_GRACE_SECS: i64 = 600;

/// The closing rule of section 9 of the protocol, for the headend: may a message that arrived at
/// `received_at`, signed at `sent_at`, still count for a topic that closes at `closes_at`? All in
/// Unix seconds; the headend's clock decides `received_at`.
///
/// While the topic is open (`received_at < closes_at`) every message counts, whatever the box's
/// clock says. After the close, only a message signed before it, and only until the grace
/// period is over.
pub fn check_close(
    sent_at: i64,
    received_at: i64,
    closes_at: i64,
    grace_secs: i64,
) -> Result<(), ReasonCode> {
    if received_at < closes_at {
        Ok(())
    } else if sent_at >= closes_at {
        Err(ReasonCode::TopicClosed)
    } else if received_at > closes_at.saturating_add(grace_secs) {
        Err(ReasonCode::PastGracePeriod)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_closing_rule_at_its_edges() {
        let close = 1_000_000;
        let grace = DEFAULT_GRACE_SECS;
        // Open: anything counts, even from a box whose clock runs ahead.
        assert_eq!(check_close(close + 50, close - 1, close, grace), Ok(()));
        // Signed before the close, arriving within the grace period, to the second.
        assert_eq!(check_close(close - 1, close, close, grace), Ok(()));
        assert_eq!(check_close(close - 1, close + grace, close, grace), Ok(()));
        assert_eq!(
            check_close(close - 1, close + grace + 1, close, grace),
            Err(ReasonCode::PastGracePeriod)
        );
        // Signed at or after the close.
        assert_eq!(
            check_close(close, close + 1, close, grace),
            Err(ReasonCode::TopicClosed)
        );
        assert_eq!(
            check_close(i64::MAX, i64::MAX, close, i64::MAX),
            Err(ReasonCode::TopicClosed)
        );
    }
}
