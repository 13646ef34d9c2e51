//! The HTTP server: routes from the operation table, and a per-connection accept loop that
//! lets a handler drop its connection without answering.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use atlas_migration_sys::operations::OPERATIONS;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, on, post};
use axum::{Extension, Router};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{Notify, oneshot};
use tokio::task::JoinSet;

use crate::errors::ApiError;
use crate::shared::Shared;
use crate::{pipeline, token_endpoint};

/// Lets a handler close the connection it is serving before any response byte is sent.
#[derive(Debug, Clone, Default)]
pub(crate) struct ConnectionKill(Arc<Notify>);

impl ConnectionKill {
    /// Closes the connection; the returned future never completes.
    pub(crate) async fn drop_connection(&self) -> Response {
        self.0.notify_one();
        std::future::pending().await
    }
}

/// Builds the router: one route per operation of the table, plus the OAuth endpoints.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    let mut router: Router<Arc<Shared>> = Router::new();
    for op in OPERATIONS {
        let method = Method::from_bytes(op.method.as_bytes()).expect("valid method in table");
        let filter = MethodFilter::try_from(method).expect("routable method in table");
        router = router.route(
            op.path,
            on(filter, move |State(s): State<Arc<Shared>>, req: Request| {
                pipeline::handle_operation(s, op, req)
            }),
        );
    }
    router
        .route("/api/oauth/token", post(token_endpoint::token))
        .route("/api/oauth/revoke", post(token_endpoint::revoke))
        .fallback(|State(s): State<Arc<Shared>>, req: Request| pipeline::handle_unknown(s, req))
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "METHOD_NOT_ALLOWED",
                "This method is not supported on this resource.",
            )
            .into_response()
        })
        .with_state(shared)
}

/// Binds `127.0.0.1:port` and serves until `shutdown` fires (or the task is aborted).
pub(crate) async fn bind(port: u16) -> std::io::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
    let addr = listener.local_addr()?;
    Ok((listener, addr))
}

/// The accept loop. Each connection is served by hyper directly so that a
/// [`ConnectionKill`] can drop it; dropping the loop aborts all connections. Every accepted
/// connection is counted in `shared`.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    shared: Arc<Shared>,
    mut shutdown: oneshot::Receiver<()>,
) {
    let mut connections = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => accepted,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        let Ok((stream, _)) = accepted else {
            continue;
        };
        shared.connections_accepted.fetch_add(1, Ordering::Relaxed);
        let _ = stream.set_nodelay(true);
        let kill = ConnectionKill::default();
        let service = TowerToHyperService::new(router.clone().layer(Extension(kill.clone())));
        connections.spawn(async move {
            let conn = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                _ = conn => {}
                _ = kill.0.notified() => {}
            }
        });
    }
}
