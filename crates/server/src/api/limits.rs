//! A per-token rate limit: a token bucket for each bearer token, in memory. Requests without a
//! token are not limited here (the public reads are cheap and the return channel has its own
//! limits).

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

/// The buckets of every token seen, keyed by the token's hash.
#[derive(Clone)]
pub struct RateLimiter {
    limit: RateLimit,
    buckets: Arc<Mutex<HashMap<String, Bucket>>>,
}

impl RateLimiter {
    pub fn new(limit: RateLimit) -> RateLimiter {
        RateLimiter {
            limit,
            buckets: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// Takes one request from `key`'s bucket at `now`: `Ok` or `Err(seconds to wait)`.
    pub fn take(&self, key: &str, now: Instant) -> Result<(), u64> {
        let RateLimit { per_second, burst } = self.limit;
        let Ok(mut buckets) = self.buckets.lock() else {
            return Ok(()); // a poisoned limiter limits nothing rather than everything
        };
        if buckets.len() >= MAX_BUCKETS && !buckets.contains_key(key) {
            buckets.retain(|_, b| {
                b.tokens + now.duration_since(b.at).as_secs_f64() * per_second < burst
            });
        }
        let bucket = buckets.entry(key.to_owned()).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        let refilled = now.duration_since(bucket.at).as_secs_f64() * per_second;
        bucket.tokens = (bucket.tokens + refilled).min(burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - bucket.tokens) / per_second.max(f64::MIN_POSITIVE);
            Err(wait.ceil().clamp(1.0, 86_400.0) as u64)
        }
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
        for _ in 0..3 {
            assert_eq!(limiter.take("a", t0), Ok(()));
        }
        assert_eq!(limiter.take("a", t0), Err(1));
        assert_eq!(
            limiter.take("b", t0),
            Ok(()),
            "each token has its own bucket"
        );
        assert_eq!(limiter.take("a", t0 + Duration::from_millis(500)), Ok(()));
        assert_eq!(limiter.take("a", t0 + Duration::from_millis(500)), Err(1));
    }
}
