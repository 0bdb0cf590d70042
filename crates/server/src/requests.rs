//! What the server keeps of every HTTP request: the counters for `/metrics` (how many requests
//! each route answered, by method and status, and the seconds spent answering them) and the
//! request's tracing span (`http_request`, with its method and route, at debug level; a 5xx
//! answer is logged as a warning with its latency).
//!
//! [`CountLayer`] is a route layer, so it sees the matched route pattern (`/api/v1/topics/{id}`,
//! never the id itself, so the label set stays small); requests no route matched are counted
//! by the fallback under `unmatched`. It is a plain tower layer rather than an axum `from_fn`
//! middleware: those box and clone the inner service on every request, which cost the return
//! channel's benchmark three points of its ratio to the plain-HTTP baseline. For the same
//! reason it makes the span itself instead of tower-http's `TraceLayer` around the router,
//! whose body wrappers and callbacks cost the ingest 2–9 points of its ratio and 1–6 µs of CPU an
//! ack at 64 boxes, 11 µs at 1,000 (paired runs of `cargo bench -p server --bench ingest`,
//! docs/return-channel.md §16).

use axum::extract::MatchedPath;
use axum::http::Method;
use axum::response::Response;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// The route label of requests no route matched.
const UNMATCHED: &str = "unmatched";

#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Counter {
    requests: u64,
    seconds: f64,
}

/// One route's counters, by method and status.
type ByStatus = HashMap<(Method, u16), Counter>;

/// The counters, shared by every request.
#[derive(Debug, Default)]
pub struct RequestMetrics {
    /// Keyed by route pattern, then by method and status: nested so that counting a request on
    /// a known route allocates nothing.
    routes: Mutex<HashMap<String, ByStatus>>,
}

impl RequestMetrics {
    fn count(&self, route: &str, method: &Method, status: u16, seconds: f64) {
        let Ok(mut routes) = self.routes.lock() else {
            return; // a poisoned lock loses counts, never requests
        };
        let by_status = match routes.get_mut(route) {
            Some(by_status) => by_status,
            None => routes.entry(route.to_owned()).or_default(),
        };
        let counter = by_status.entry((method.clone(), status)).or_default();
        counter.requests += 1;
        counter.seconds += seconds;
    }

    /// Prometheus' text format, sorted so that scrapes diff cleanly.
    pub fn render(&self) -> String {
        let mut rows: Vec<(String, String, u16, Counter)> = match self.routes.lock() {
            Ok(routes) => routes
                .iter()
                .flat_map(|(route, by_status)| {
                    by_status.iter().map(|((method, status), counter)| {
                        (route.clone(), method.to_string(), *status, *counter)
                    })
                })
                .collect(),
            Err(_) => Vec::new(),
        };
        rows.sort_by(|a, b| (&a.0, &a.1, a.2).cmp(&(&b.0, &b.1, b.2)));
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP shangyi_http_requests_total HTTP requests answered, by route pattern, method and status."
        );
        let _ = writeln!(out, "# TYPE shangyi_http_requests_total counter");
        for (route, method, status, counter) in &rows {
            let _ = writeln!(
                out,
                "shangyi_http_requests_total{{route=\"{}\",method=\"{method}\",status=\"{status}\"}} {}",
                escape(route),
                counter.requests
            );
        }
        let _ = writeln!(
            out,
            "# HELP shangyi_http_request_seconds_total Time spent answering HTTP requests."
        );
        let _ = writeln!(out, "# TYPE shangyi_http_request_seconds_total counter");
        for (route, method, status, counter) in &rows {
            let _ = writeln!(
                out,
                "shangyi_http_request_seconds_total{{route=\"{}\",method=\"{method}\",status=\"{status}\"}} {:.6}",
                escape(route),
                counter.seconds
            );
        }
        out
    }
}

/// A label value as Prometheus' text format wants it.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Counts every request of the routes it wraps (use it with `Router::route_layer`).
#[derive(Clone)]
pub struct CountLayer(pub Arc<RequestMetrics>);

impl<S> tower::Layer<S> for CountLayer {
    type Service = Count<S>;

    fn layer(&self, inner: S) -> Count<S> {
        Count {
            inner,
            metrics: self.0.clone(),
        }
    }
}

/// The service [`CountLayer`] wraps a route in.
#[derive(Clone)]
pub struct Count<S> {
    inner: S,
    metrics: Arc<RequestMetrics>,
}

impl<S, B> tower::Service<axum::http::Request<B>> for Count<S>
where
    S: tower::Service<axum::http::Request<B>, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Counted<S::Future>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: axum::http::Request<B>) -> Self::Future {
        let route = request.extensions().get::<MatchedPath>().cloned();
        let method = request.method().clone();
        let span = tracing::debug_span!(
            "http_request",
            method = %method,
            route = route.as_ref().map_or(UNMATCHED, MatchedPath::as_str),
        );
        let inner = {
            let _entered = span.enter();
            self.inner.call(request)
        };
        Counted {
            inner,
            metrics: self.metrics.clone(),
            route,
            method,
            started: Instant::now(),
            span,
        }
    }
}

pin_project_lite::pin_project! {
    /// A route's answer, counted when it is ready.
    pub struct Counted<F> {
        #[pin]
        inner: F,
        metrics: Arc<RequestMetrics>,
        route: Option<MatchedPath>,
        method: Method,
        started: Instant,
        span: tracing::Span,
    }
}

impl<F, E> std::future::Future for Counted<F>
where
    F: std::future::Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        let this = self.project();
        let _entered = this.span.enter();
        let output = std::task::ready!(this.inner.poll(cx));
        if let Ok(response) = &output {
            let status = response.status().as_u16();
            let seconds = this.started.elapsed().as_secs_f64();
            let route = this.route.as_ref().map_or(UNMATCHED, MatchedPath::as_str);
            if response.status().is_server_error() {
                // Why it failed was logged where it failed; this says which request it was.
                tracing::warn!(
                    status,
                    latency_ms = seconds * 1e3,
                    "request answered with a server error"
                );
            }
            this.metrics.count(route, this.method, status, seconds);
        }
        std::task::Poll::Ready(output)
    }
}

impl RequestMetrics {
    /// Counts a request no route matched (the fallback calls it).
    pub(crate) fn count_unmatched(&self, method: &Method, status: u16) {
        self.count(UNMATCHED, method, status, 0.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_counted_per_route_method_and_status() {
        let metrics = RequestMetrics::default();
        metrics.count("/api/v1/topics/{id}", &Method::GET, 200, 0.25);
        metrics.count("/api/v1/topics/{id}", &Method::GET, 200, 0.5);
        metrics.count("/api/v1/topics/{id}", &Method::GET, 404, 0.125);
        metrics.count(UNMATCHED, &Method::POST, 404, 0.0);
        let text = metrics.render();
        assert!(text.contains(
            "shangyi_http_requests_total{route=\"/api/v1/topics/{id}\",method=\"GET\",status=\"200\"} 2\n"
        ), "{text}");
        assert!(text.contains(
            "shangyi_http_request_seconds_total{route=\"/api/v1/topics/{id}\",method=\"GET\",status=\"200\"} 0.750000\n"
        ), "{text}");
        assert!(text.contains(
            "shangyi_http_requests_total{route=\"/api/v1/topics/{id}\",method=\"GET\",status=\"404\"} 1\n"
        ), "{text}");
        assert!(text.contains(
            "shangyi_http_requests_total{route=\"unmatched\",method=\"POST\",status=\"404\"} 1\n"
        ), "{text}");
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
