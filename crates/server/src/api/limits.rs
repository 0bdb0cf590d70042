//! Rate limits: a token bucket per key, in memory. The API keys buckets by bearer token (one
//! request takes one unit); the return channel by card (one message takes one unit, see
//! [`crate::ingest`]). Requests without a token are not limited here: the public reads are
//! cheap, and the return channel has its own limit.

use crate::AppState;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// How fast a token may call: `per_second` on average, `burst` at once.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateLimit {
    pub per_second: f64,
    pub burst: f64,
}

impl Default for RateLimit {
    fn default() -> RateLimit {
        RateLimit {
            per_second: 20.0,
            burst: 40.0,
        }
    }
}

/// Buckets beyond this many are pruned of the full ones (an attacker's made-up tokens).
const MAX_BUCKETS: usize = 10_000;

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The buckets of every key seen: a token's hash, or a card's number.
#[derive(Clone)]
pub struct RateLimiter<K = String> {
    limit: RateLimit,
    buckets: Arc<Mutex<HashMap<K, Bucket>>>,
}

impl<K: std::hash::Hash + Eq + Clone> RateLimiter<K> {
    pub fn new(limit: RateLimit) -> RateLimiter<K> {
        RateLimiter {
            limit,
            buckets: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// Takes one unit from `key`'s bucket at `now`: `Ok` or `Err(seconds to wait)`.
    pub fn take(&self, key: &K, now: Instant) -> Result<(), u64> {
        self.take_all(&[(key.clone(), 1)], now)
    }

    /// Takes `units` from each key's bucket at `now`, all or nothing: `Ok`, or
    /// `Err(seconds to wait)` for the slowest bucket, and then nothing is taken.
    pub fn take_all(&self, wanted: &[(K, u32)], now: Instant) -> Result<(), u64> {
        let RateLimit { per_second, burst } = self.limit;
        let Ok(mut buckets) = self.buckets.lock() else {
            return Ok(()); // a poisoned limiter limits nothing rather than everything
        };
        if buckets.len() >= MAX_BUCKETS && wanted.iter().any(|(k, _)| !buckets.contains_key(k)) {
            buckets.retain(|_, b| {
                b.tokens + now.duration_since(b.at).as_secs_f64() * per_second < burst
            });
        }
        let mut wait: f64 = 0.0;
        for (key, units) in wanted {
            let bucket = buckets.entry(key.clone()).or_insert(Bucket {
                tokens: burst,
                at: now,
            });
            let refilled = now.duration_since(bucket.at).as_secs_f64() * per_second;
            bucket.tokens = (bucket.tokens + refilled).min(burst);
            bucket.at = now;
            let units = f64::from(*units);
            if bucket.tokens < units {
                wait = wait.max((units - bucket.tokens) / per_second.max(f64::MIN_POSITIVE));
            }
        }
        if wait > 0.0 {
            return Err(wait.ceil().clamp(1.0, 86_400.0) as u64);
        }
        for (key, units) in wanted {
            if let Some(bucket) = buckets.get_mut(key) {
                bucket.tokens -= f64::from(*units);
            }
        }
        Ok(())
    }
}

/// The middleware: 429 with `Retry-After` when a token's bucket is empty.
pub async fn rate_limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    if let Some(secret) = super::auth::secret(&parts) {
        let key = store::token_hash(secret);
        if let Err(wait) = state.limiter.take(&key, Instant::now()) {
            let mut response = super::error(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("too many requests with this token; retry in {wait} s"),
            )
            .into_response();
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(wait));
            return response;
        }
    }
    next.run(Request::from_parts(parts, body)).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_bucket_refills_at_its_rate() {
        let limiter = RateLimiter::new(RateLimit {
            per_second: 2.0,
            burst: 3.0,
        });
        let t0 = Instant::now();
        let a = "a".to_owned();
        for _ in 0..3 {
            assert_eq!(limiter.take(&a, t0), Ok(()));
        }
        assert_eq!(limiter.take(&a, t0), Err(1));
        assert_eq!(
            limiter.take(&"b".to_owned(), t0),
            Ok(()),
            "each token has its own bucket"
        );
        assert_eq!(limiter.take(&a, t0 + Duration::from_millis(500)), Ok(()));
        assert_eq!(limiter.take(&a, t0 + Duration::from_millis(500)), Err(1));
    }

    #[test]
    fn several_units_are_taken_from_several_buckets_all_or_nothing() {
        let limiter: RateLimiter<u64> = RateLimiter::new(RateLimit {
            per_second: 1.0,
            burst: 10.0,
        });
        let t0 = Instant::now();
        assert_eq!(limiter.take_all(&[(1, 8), (2, 3)], t0), Ok(()));
        // Card 1 has 2 left: asking 3 of it refuses the whole batch, card 2's units included.
        assert_eq!(limiter.take_all(&[(2, 7), (1, 3)], t0), Err(1));
        assert_eq!(limiter.take_all(&[(2, 7)], t0), Ok(()), "card 2 kept its 7");
        assert_eq!(
            limiter.take_all(&[(1, 6)], t0),
            Err(4),
            "4 s to refill 4 units"
        );
        assert_eq!(
            limiter.take_all(&[(1, 6)], t0 + Duration::from_secs(4)),
            Ok(())
        );
    }
}
