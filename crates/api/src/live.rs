//! `GET /api/v1/events/stream`: committed case events as server-sent events, scoped like every
//! read. One poller per node follows the shared event log (so with several nodes on one
//! PostgreSQL, a write on one node reaches the streams of all), and fans batches out to the
//! connections; a connection that falls behind, or resumes with `Last-Event-ID`, catches up from
//! the log itself, so no event is skipped.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::response::sse::{Event, Sse};
use jiesu_store::LiveEvent;
use tokio::sync::{broadcast, mpsc};

use crate::AppState;
use crate::auth::Authed;
use crate::dto::time_ms;
use crate::problem::ApiError;

const POLL: Duration = Duration::from_millis(250);
const PING: Duration = Duration::from_secs(15);
const BATCH: i64 = 500;

pub struct Hub {
    tx: broadcast::Sender<Arc<Vec<LiveEvent>>>,
    /// Users whose open streams must end now (disabled, a grant removed, a password reset).
    ended: broadcast::Sender<Arc<str>>,
    started: AtomicBool,
}

impl Default for Hub {
    fn default() -> Self {
        Hub {
            tx: broadcast::channel(256).0,
            ended: broadcast::channel(64).0,
            started: AtomicBool::new(false),
        }
    }
}

impl Hub {
    /// Ends this node's open streams of a user: the client's reconnect then meets what the
    /// store now says (401, or the grants he has left).
    pub fn end_streams_of(&self, username: &str) {
        // No receiver is fine: he has no stream open here.
        let _ = self.ended.send(Arc::from(username));
    }
}

/// Starts this node's poller on first use: it lives as long as the process.
fn ensure_poller(state: &AppState) {
    if state.live.started.swap(true, Ordering::SeqCst) {
        return;
    }
    let state = state.clone();
    tokio::spawn(async move {
        let mut head = loop {
            match state.store.last_event_seq().await {
                Ok(h) => break h,
                Err(e) => {
                    tracing::warn!(error = %e, "live events: cannot read the log head");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        };
        loop {
            match state.store.events_after(head, BATCH).await {
                Ok(batch) if !batch.is_empty() => {
                    head = batch.last().map_or(head, |e| e.global_seq);
                    let full = batch.len() as i64 == BATCH;
                    // No receiver is fine: nobody is listening on this node now.
                    let _ = state.live.tx.send(Arc::new(batch));
                    if full {
                        continue;
                    }
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "live events: poll failed"),
            }
            tokio::time::sleep(POLL).await;
        }
    });
}

/// Who may see an event: whoever may read its case (`Case::visible_to`, the rule of `GET` and of
/// lists), judged on the case as it stands after the event.
struct Viewer {
    actor: jiesu_domain::Actor,
    juris: Arc<jiesu_domain::Jurisdiction>,
}

impl Viewer {
    fn sees(&self, e: &LiveEvent) -> bool {
        e.case
            .as_ref()
            .is_some_and(|c| c.visible_to(&self.actor, &self.juris.org))
    }
}

fn frame(e: &LiveEvent) -> Event {
    let data = serde_json::json!({
        "case_id": e.case_id, "number": e.number, "type": e.kind, "state": e.state,
        "unit_id": e.assigned_unit, "at": time_ms(e.at_ms),
    });
    Event::default()
        .id(e.global_seq.to_string())
        .event("case")
        .data(data.to_string())
}

pub async fn stream(
    State(state): State<AppState>,
    auth: Authed,
    headers: HeaderMap,
) -> Result<impl IntoResponse, ApiError> {
    let resume = match headers.get("last-event-id") {
        None => None,
        Some(v) => Some(
            v.to_str()
                .ok()
                .and_then(|s| s.trim().parse::<i64>().ok())
                .filter(|n| *n >= 0)
                .ok_or_else(|| {
                    ApiError::bad_request("invalid_query", "Last-Event-ID must be a number")
                })?,
        ),
    };
    ensure_poller(&state);
    // Subscribed before the start is read, so nothing between the two is missed.
    let mut rx = state.live.tx.subscribe();
    let mut ended = state.live.ended.subscribe();
    let mut last = match resume {
        Some(n) => n,
        None => state.store.last_event_seq().await?,
    };
    let mut viewer = Viewer {
        actor: auth.actor.clone(),
        juris: state.juris(),
    };
    let expires = auth.expires_at_ms;
    let (out, out_rx) = mpsc::channel::<Event>(64);
    tokio::spawn(async move {
        // Catch up from the log: after a resume, and whenever the fan-out left us behind.
        async fn catch_up(
            state: &AppState,
            viewer: &Viewer,
            last: &mut i64,
            out: &mpsc::Sender<Event>,
        ) -> bool {
            loop {
                let batch = match state.store.events_after(*last, BATCH).await {
                    Ok(b) => b,
                    Err(_) => return false,
                };
                for e in &batch {
                    *last = e.global_seq;
                    if viewer.sees(e) && out.send(frame(e)).await.is_err() {
                        return false;
                    }
                }
                if (batch.len() as i64) < BATCH {
                    return true;
                }
            }
        }
        if resume.is_some() && !catch_up(&state, &viewer, &mut last, &out).await {
            return;
        }
        loop {
            // The stream ends with the session; the client's reconnect then meets a 401.
            if state.now().timestamp_millis() >= expires {
                return;
            }
            tokio::select! {
                r = ended.recv() => match r {
                    Ok(name) if *name == *viewer.actor.username => return,
                    Ok(_) => {}
                    // Missed some: end rather than risk streaming to a revoked user.
                    Err(_) => return,
                },
                r = rx.recv() => match r {
                    Ok(batch) => {
                        // The tree as it is now (a unit may have moved since the stream opened).
                        viewer.juris = state.juris();
                        for e in batch.iter() {
                            if e.global_seq <= last {
                                continue;
                            }
                            last = e.global_seq;
                            if viewer.sees(e) && out.send(frame(e)).await.is_err() {
                                return;
                            }
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        if !catch_up(&state, &viewer, &mut last, &out).await {
                            return;
                        }
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                _ = tokio::time::sleep(PING) => {
                    if out.send(Event::default().comment("ping")).await.is_err() {
                        return;
                    }
                }
            }
        }
    });
    let body = futures_util::stream::unfold(out_rx, |mut rx| async move {
        rx.recv().await.map(|e| (Ok::<_, Infallible>(e), rx))
    });
    Ok(([("x-accel-buffering", "no")], Sse::new(body)))
}
