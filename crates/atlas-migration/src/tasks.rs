//! The tasks this crate starts: blocking work (files, locks) run off the async runtime's
//! threads, and futures that run on their own.
//!
//! Each kind goes through one type-erased spawn. tokio compiles its task machinery afresh
//! for each closure or future type it is given, about 2,000 lines of LLVM IR each; one boxed
//! type per kind compiles it once for the whole crate, for the price of a box (and for
//! blocking work a result slot) per task, nothing next to the work a task does.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

/// Runs `work` on the blocking pool and returns its result. Dropping the future does not
/// stop `work`: it runs to its end, and its result is dropped there. Fails only if `work`
/// panicked or the runtime shut down before running it.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> std::io::Result<T> {
    let slot: Arc<Mutex<Option<T>>> = Arc::new(Mutex::new(None));
    let filled = slot.clone();
    spawn_blocking(Box::new(move || {
        let out = work();
        *filled.lock().unwrap_or_else(|p| p.into_inner()) = Some(out);
    }))
    .await
    .map_err(|e| std::io::Error::other(format!("blocking task failed: {e}")))?;
    let out = slot.lock().unwrap_or_else(|p| p.into_inner()).take();
    out.ok_or_else(|| std::io::Error::other("blocking task ended without a result"))
}

/// The one instantiation of `spawn_blocking`.
fn spawn_blocking(job: Box<dyn FnOnce() + Send>) -> tokio::task::JoinHandle<()> {
    tokio::task::spawn_blocking(job)
}

/// Runs `task` on its own (see `tokio::spawn`): through the one instantiation of
/// `tokio::spawn` in this crate.
pub(crate) fn spawn(
    task: impl Future<Output = ()> + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    spawn_boxed(Box::pin(task))
}

fn spawn_boxed(task: Pin<Box<dyn Future<Output = ()> + Send>>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(task)
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn blocking_work_returns_its_result_or_reports_a_panic() {
        assert_eq!(super::blocking(|| 6 * 7).await.unwrap(), 42);
        let e = super::blocking(|| -> u8 { panic!("boom") })
            .await
            .unwrap_err();
        assert!(e.to_string().contains("blocking task failed"), "{e}");
    }
}
