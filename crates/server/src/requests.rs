//! HTTP request counters for `/metrics`: how many requests each route answered, by method and
//! status, and the seconds spent answering them.
//!
//! Two layers cooperate because axum knows a request's route only inside the router: a route
//! layer copies the matched route pattern (`/api/v1/topics/{id}`, never the id itself, so the
//! label set stays small) into the response's extensions, and the outer layer, which sees every
//! request including the 404s of no route, counts it under that pattern or under `unmatched`.

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
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

/// The matched route, carried from the route layer to the counting layer.
#[derive(Clone)]
struct Route(Arc<str>);

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

/// The route layer: puts the matched route pattern into the response.
pub(crate) async fn remember_route(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| Route(Arc::from(path.as_str())));
    let mut response = next.run(request).await;
    if let Some(route) = route {
        response.extensions_mut().insert(route);
    }
    response
}

/// The outer layer: counts every request under its route pattern.
pub(crate) async fn count(
    State(metrics): State<Arc<RequestMetrics>>,
    request: Request,
    next: Next,
) -> Response {
    let method = request.method().clone();
    let started = Instant::now();
    let response = next.run(request).await;
    let route = response
        .extensions()
        .get::<Route>()
        .map_or(UNMATCHED, |route| &route.0);
    metrics.count(
        route,
        &method,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
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
