//! A small HTTP/1.1 JSON client over hyper, for the load generator and the end-to-end tests.

use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

#[derive(Clone)]
pub struct Client {
    inner: HyperClient<HttpConnector, Full<Bytes>>,
    pub base: String,
    pub token: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub content_type: String,
    pub body: Bytes,
    pub headers: hyper::HeaderMap,
}

impl Response {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

impl Client {
    pub fn new(base: impl Into<String>) -> Self {
        let mut c = HttpConnector::new();
        c.set_nodelay(true);
        c.set_connect_timeout(Some(Duration::from_secs(5)));
        Client {
            inner: HyperClient::builder(TokioExecutor::new())
                .pool_idle_timeout(Duration::from_secs(30))
                .build(c),
            base: base.into(),
            token: None,
        }
    }

    pub fn with_token(&self, token: impl Into<String>) -> Self {
        let mut c = self.clone();
        c.token = Some(token.into());
        c
    }

    /// The session's bearer token, once signed in.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// Sends raw bytes with the given headers.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> anyhow::Result<Response> {
        let mut b = Request::builder()
            .method(Method::from_bytes(method.as_bytes())?)
            .uri(format!("{}{}", self.base, path));
        if let Some(t) = &self.token {
            b = b.header("authorization", format!("Bearer {t}"));
        }
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let req = b.body(Full::new(body.into()))?;
        let res = tokio::time::timeout(Duration::from_secs(30), self.inner.request(req)).await??;
        let status = res.status().as_u16();
        let content_type = res
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let headers = res.headers().clone();
        let body = res.into_body().collect().await?.to_bytes();
        Ok(Response {
            status,
            content_type,
            body,
            headers,
        })
    }

    pub async fn get(&self, path: &str) -> anyhow::Result<Response> {
        self.send("GET", path, &[], Bytes::new()).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> anyhow::Result<Response> {
        self.send(
            "POST",
            path,
            &[("content-type", "application/json")],
            serde_json::to_vec(body)?,
        )
        .await
    }

    /// Any method with a JSON body (PUT, PATCH).
    pub async fn send_json(
        &self,
        method: &str,
        path: &str,
        body: &Value,
    ) -> anyhow::Result<Response> {
        self.send(
            method,
            path,
            &[("content-type", "application/json")],
            serde_json::to_vec(body)?,
        )
        .await
    }

    pub async fn delete(&self, path: &str) -> anyhow::Result<Response> {
        self.send("DELETE", path, &[], Bytes::new()).await
    }

    pub async fn post_with(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        body: &Value,
    ) -> anyhow::Result<Response> {
        let mut h = vec![("content-type", "application/json")];
        h.extend_from_slice(headers);
        self.send("POST", path, &h, serde_json::to_vec(body)?).await
    }

    /// Signs in and returns a client carrying the token.
    pub async fn login(&self, username: &str, password: &str) -> anyhow::Result<Client> {
        let r = self
            .post(
                "/api/v1/auth/login",
                &serde_json::json!({"username": username, "password": password}),
            )
            .await?;
        anyhow::ensure!(
            r.status == 200,
            "login {username}: {} {}",
            r.status,
            String::from_utf8_lossy(&r.body)
        );
        let token = r.json()["token"]
            .as_str()
            .ok_or_else(|| anyhow::anyhow!("no token"))?
            .to_string();
        Ok(self.with_token(token))
    }
}
