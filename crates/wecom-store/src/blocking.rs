//! The one way async code runs a store call: on a blocking thread, never on the runtime's.

use crate::StoreError;

/// Runs `f` (store calls, which block) on tokio's blocking pool and returns its result. A panic in
/// `f` comes back as a [`StoreError::Backend`] instead of taking the caller down.
pub async fn blocking<T, F>(f: F) -> Result<T, StoreError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, StoreError> + Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(result) => result,
        Err(e) => Err(StoreError::Backend {
            op: "running a store call on a blocking thread",
            cause: e.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn returns_the_result_and_turns_a_panic_into_an_error() {
        let ok = blocking(|| Ok(7)).await.expect("ok");
        assert_eq!(ok, 7);
        let failed = blocking(|| -> Result<(), StoreError> { panic!("boom") })
            .await
            .expect_err("a panic is an error");
        assert_eq!(failed.kind(), crate::StoreErrorKind::Backend);
    }
}
