//! The Stoa server: HTTP gateway discovery, WebSocket signalling and (later) the media plane, in one process.
//!
//! Layers: [`hub`] is the sans-IO signalling core; [`admission`] decides who may join; [`store`] persists apps and
//! string uids; [`gateway`] is the tokio/axum shell around them.

pub mod admission;
pub mod config;
pub mod gateway;
pub mod hub;
pub mod media;
pub mod metrics;
pub mod store;
pub mod udp;
pub mod web;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use config::Config;
use store::{App, Store};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A server that is listening.
pub struct Running {
    pub local_addr: SocketAddr,
    /// The first media worker's UDP address.
    pub media_addr: SocketAddr,
    /// Every media worker's UDP address, in worker order: the ICE candidate of the channels pinned to it.
    pub media_addrs: Vec<SocketAddr>,
    /// The apps it admits, sorted by id.
    pub apps: Vec<App>,
    pub shared: Arc<gateway::Shared>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// Serves until the process ends (or the server fails).
    pub async fn wait(mut self) -> Result<(), BoxError> {
        let _keep_open = self.shutdown.take();
        (&mut self.task).await??;
        Ok(())
    }

    pub async fn stop(mut self) -> Result<(), BoxError> {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        (&mut self.task).await??;
        Ok(())
    }
}

/// The apps a server admits: the configured ones, or else the development app. Both are written to the store so
/// their ids survive restarts; apps stored by earlier runs but not configured now are not admitted, so a
/// development app never stays open on a server that was later given real apps.
fn resolve_apps(config: &Config, store: &Store) -> Result<Vec<App>, BoxError> {
    let mut apps = Vec::new();
    for app in &config.apps {
        app.validate()?;
        let app = App {
            id: app.id.clone(),
            certificate: app.certificate.clone(),
        };
        store.put_app(&app)?;
        apps.push(app);
    }
    if apps.is_empty() {
        apps.push(store.development_app()?);
    }
    apps.sort_by(|a, b| a.id.cmp(&b.id));
    apps.dedup_by(|a, b| a.id == b.id);
    Ok(apps)
}

/// Opens the store, binds the HTTP listener and starts serving.
pub async fn start(config: Config) -> Result<Running, BoxError> {
    let store = Store::open(&config.server.data)?;
    let apps = resolve_apps(&config, &store)?;
    let listener = tokio::net::TcpListener::bind(config.server.http)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.server.http))?;
    let local_addr = listener.local_addr()?;
    let media_sockets = media::bind(config.server.udp, media::worker_count(config.media.workers))?;
    let media_addrs = media_sockets.local_addrs()?;
    let media_addr = media_addrs[0];
    let by_id: HashMap<String, App> = apps.iter().map(|a| (a.id.clone(), a.clone())).collect();
    let (router, shared) = gateway::router(config, by_id, store, media_sockets);
    let (shutdown, shutdown_rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(gateway::serve(listener, router, async move {
        let _ = shutdown_rx.await;
    }));
    Ok(Running {
        local_addr,
        media_addr,
        media_addrs,
        apps,
        shared,
        shutdown: Some(shutdown),
        task,
    })
}
