//! An HTTP/1.1 [`Transport`] (feature `http`): posts batches to `/rc/v1/messages` over a pooled
//! keep-alive connection with hyper-util's client, and maps the answer with
//! [`interpret_answer`], like any client of the protocol must.

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{CONTENT_TYPE, RETRY_AFTER};
use hyper::{Method, Request, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::send::{Transport, TransportError, interpret_answer};
use crate::wire::{Batch, BatchResponse, CONTENT_TYPE as JSON, PATH};

/// Answers longer than this are not the protocol's (256 acks are about 20 KiB).
const MAX_ANSWER_BYTES: usize = 1024 * 1024;

/// Posts batches to one headend. Cheap to clone; clones share the connection pool.
#[derive(Clone, Debug)]
pub struct HttpTransport {
    client: Client<HttpConnector, Full<Bytes>>,
    uri: Uri,
}

/// The base URL is not an `http://host:port` URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a headend URL such as http://127.0.0.1:8080")]
pub struct BadUrl(pub String);

impl HttpTransport {
    /// `base` is the headend's root, e.g. `http://127.0.0.1:8080`; the path is added here.
    pub fn new(base: &str) -> Result<HttpTransport, BadUrl> {
        let full = format!("{}{PATH}", base.trim_end_matches('/'));
        let uri: Uri = full.parse().map_err(|_| BadUrl(base.to_owned()))?;
        if uri.scheme_str() != Some("http") || uri.host().is_none() {
            return Err(BadUrl(base.to_owned()));
        }
        let client = Client::builder(TokioExecutor::new()).build_http();
        Ok(HttpTransport { client, uri })
    }

    async fn post(&self, batch: Batch) -> Result<BatchResponse, TransportError> {
        let request = Request::builder()
            .method(Method::POST)
            .uri(self.uri.clone())
            .header(CONTENT_TYPE, JSON)
            .body(Full::new(Bytes::from(batch.to_json())))
            .map_err(|e| TransportError::Connection(e.to_string()))?;
        let response = self
            .client
            .request(request)
            .await
            .map_err(|e| TransportError::Connection(e.to_string()))?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = Limited::new(response.into_body(), MAX_ANSWER_BYTES)
            .collect()
            .await
            .map_err(|e| TransportError::Connection(e.to_string()))?
            .to_bytes();
        interpret_answer(status, retry_after.as_deref(), &body)
    }
}

impl Transport for HttpTransport {
    fn send(
        &self,
        batch: Batch,
    ) -> impl std::future::Future<Output = Result<BatchResponse, TransportError>> + Send {
        self.post(batch)
    }
}
