//! Routing and the HTTP details: the embedded page, the JSON API, bodies capped, every error a
//! JSON `{"error"}` with a 4xx or 5xx status; a fixed number of workers take the requests.

use std::io::Read;
use std::sync::Arc;

use serde_json::{Value, json};
use tiny_http::{Header, Method, Request, Response, Server};

use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::infer;

const INDEX: &str = include_str!("../page/index.html");
const APP: &str = include_str!("../page/app.js");
const STYLE: &str = include_str!("../page/style.css");

/// How the server takes requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The largest request body accepted, in bytes.
    pub max_body: usize,
    /// Threads that run requests (and the models): a burst waits in the queue.
    pub workers: usize,
}

/// A response: status, content type, body.
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// The body.
    pub body: Vec<u8>,
}

impl Reply {
    fn json(status: u16, value: &Value) -> Reply {
        Reply {
            status,
            content_type: "application/json",
            body: value.to_string().into_bytes(),
        }
    }

    fn text(content_type: &'static str, text: &str) -> Reply {
        Reply {
            status: 200,
            content_type,
            body: text.as_bytes().to_vec(),
        }
    }

    /// The error as `{"error": message}` with its status.
    pub fn error(e: &Error) -> Reply {
        Reply::json(e.status(), &json!({ "error": e.to_string() }))
    }
}

/// Reads the body of `req`, at most `limit` bytes.
fn body(req: &mut Request, limit: usize) -> Result<Vec<u8>> {
    if let Some(len) = req.body_length()
        && len > limit
    {
        return Err(Error::TooLarge { len, limit });
    }
    let mut bytes = Vec::new();
    req.as_reader()
        .take(limit as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::Incomplete(e.to_string()))?;
    if bytes.len() > limit {
        return Err(Error::TooLarge {
            len: bytes.len(),
            limit,
        });
    }
    if bytes.is_empty() {
        return Err(Error::EmptyBody);
    }
    Ok(bytes)
}

/// The value of `key` in the query string of `url`.
fn query<'a>(url: &'a str, key: &str) -> Option<&'a str> {
    url.split_once('?')?
        .1
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v)
}

/// Answers one request.
pub fn route(catalog: &Catalog, req: &mut Request, limits: Limits) -> Result<Reply> {
    let url = req.url().to_string();
    let path = url.split('?').next().unwrap_or("");
    let method = req.method().clone();
    let only = |allowed: &'static str, want: Method| {
        if method == want {
            Ok(())
        } else {
            Err(Error::Method {
                path: path.to_string(),
                method: method.to_string(),
                allowed,
            })
        }
    };
    match path {
        "/" | "/index.html" => {
            only("GET", Method::Get).map(|_| Reply::text("text/html; charset=utf-8", INDEX))
        }
        "/app.js" => {
            only("GET", Method::Get).map(|_| Reply::text("text/javascript; charset=utf-8", APP))
        }
        "/style.css" => {
            only("GET", Method::Get).map(|_| Reply::text("text/css; charset=utf-8", STYLE))
        }
        "/api/runs" => {
            only("GET", Method::Get)?;
            Ok(Reply::json(200, &catalog.runs_json()))
        }
        "/api/predict" | "/api/inspect" => {
            only("POST", Method::Post)?;
            let entry = match query(&url, "run") {
                Some(id) => catalog.entry(id)?,
                None => catalog
                    .default_entry()
                    .ok_or_else(|| Error::UnknownRun("(none given)".into()))?,
            };
            let bytes = body(req, limits.max_body)?;
            let value = if path == "/api/predict" {
                infer::predict(catalog, entry, &bytes)?
            } else {
                infer::inspect(catalog, entry, &bytes)?
            };
            Ok(Reply::json(200, &value))
        }
        _ => Err(Error::NotFound(path.to_string())),
    }
}

/// Serves `server` with `limits.workers` threads until the process ends.
pub fn serve(catalog: Arc<Catalog>, server: Server, limits: Limits) {
    let server = Arc::new(server);
    let workers: Vec<_> = (0..limits.workers.max(1))
        .map(|_| {
            let (server, catalog) = (Arc::clone(&server), Arc::clone(&catalog));
            std::thread::spawn(move || {
                for mut req in server.incoming_requests() {
                    let reply =
                        route(&catalog, &mut req, limits).unwrap_or_else(|e| Reply::error(&e));
                    let content_type = Header::from_bytes("Content-Type", reply.content_type)
                        .expect("a valid header");
                    let response = Response::from_data(reply.body)
                        .with_status_code(reply.status)
                        .with_header(content_type);
                    // A client that went away is not the server's problem.
                    let _ = req.respond(response);
                }
            })
        })
        .collect();
    for w in workers {
        let _ = w.join();
    }
}
