//! The one retry loop of the client, shared by getchatdata, the directory APIs and each media
//! chunk: transient failures are retried after the capped, jittered [`Backoff`] of the
//! [`RetryPolicy`], and a token the server rejects (40001/40014/42001) is fetched again and the
//! attempt repeated at once, at most [`MAX_TOKEN_REFRESHES`] times per call. What differs between
//! the callers — the attempt, how an error is judged and reported — is passed in.

use std::future::Future;
use std::time::Duration;

use tracing::debug;
use wecom_wire::{Backoff, SourceError};

use crate::http::TokenCache;

/// How many times one call may fetch a fresh token because the server rejected the cached one.
pub(crate) const MAX_TOKEN_REFRESHES: u32 = 2;

/// How often and how patiently a transient failure is retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all (the first try included); at least 1.
    pub max_attempts: u32,
    /// Delay before the first retry.
    pub base_delay: Duration,
    /// Upper bound of any single delay.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 8,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The delay after failed attempt number `attempt` (1-based): `base * 2^(attempt-1)`, capped,
    /// then drawn uniformly from its upper half so that many clients do not retry in lockstep
    /// ([`Backoff::delay`]).
    pub fn delay(&self, attempt: u32) -> Duration {
        Backoff::new(self.base_delay, self.max_delay).delay(attempt)
    }

    /// The policy with at least one attempt.
    pub(crate) fn at_least_once(self) -> RetryPolicy {
        RetryPolicy {
            max_attempts: self.max_attempts.max(1),
            ..self
        }
    }
}

/// How one attempt failed.
pub(crate) enum Attempt<E> {
    /// The server rejected the access token: fetch a new one and try again at once.
    TokenRejected,
    /// Anything else; retried when the error says it may pass.
    Failed(E),
}

impl<E> From<E> for Attempt<E> {
    fn from(e: E) -> Self {
        Attempt::Failed(e)
    }
}

/// An error the retry loop can judge.
pub(crate) trait RetryError: Sized {
    /// Whether the same attempt may succeed later.
    fn is_retryable(&self) -> bool;
    /// The error the call ends with after `attempts` attempts.
    fn gave_up(self, attempts: u32) -> Self;
}

impl RetryError for SourceError {
    fn is_retryable(&self) -> bool {
        self.retryable
    }

    fn gave_up(mut self, attempts: u32) -> Self {
        note_gave_up(self.retryable, &mut self.message, attempts);
        self
    }
}

/// Appends the attempts spent to the message of a retryable error that ended a call.
pub(crate) fn note_gave_up(retryable: bool, message: &mut String, attempts: u32) {
    if retryable {
        *message = format!("{message} (gave up after {attempts} attempts)");
    }
}

/// What a caller adds to the loop: the error when fresh tokens keep being rejected, and what to
/// do (log, count, slow other calls) before waiting for a retry.
pub(crate) trait RetryHooks<E> {
    /// The final error once [`MAX_TOKEN_REFRESHES`] fresh tokens were rejected too.
    fn tokens_rejected(&self) -> E;

    /// Called after failed attempt `attempt`, before waiting `delay` for the next one.
    fn before_retry(
        &mut self,
        error: &E,
        attempt: u32,
        delay: Duration,
    ) -> impl Future<Output = ()> + Send;

    /// Called when the server rejected the token, before a new one is fetched.
    fn token_rejected(&self) {
        debug!("access token rejected by the server; fetching a new one");
    }
}

/// Runs `attempt` until it succeeds, fails for good, or spends `policy.max_attempts` (token
/// refreshes do not count as attempts).
pub(crate) async fn with_retries<T, E, F, Fut, H>(
    policy: &RetryPolicy,
    tokens: &TokenCache,
    mut attempt: F,
    mut hooks: H,
) -> Result<T, E>
where
    E: RetryError,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Attempt<E>>>,
    H: RetryHooks<E>,
{
    let mut attempts = 0u32;
    let mut refreshes = 0u32;
    loop {
        attempts += 1;
        match attempt().await {
            Ok(value) => return Ok(value),
            Err(Attempt::TokenRejected) if refreshes < MAX_TOKEN_REFRESHES => {
                refreshes += 1;
                attempts -= 1;
                hooks.token_rejected();
                tokens.invalidate().await;
            }
            Err(Attempt::TokenRejected) => return Err(hooks.tokens_rejected()),
            Err(Attempt::Failed(e)) if e.is_retryable() && attempts < policy.max_attempts => {
                let delay = policy.delay(attempts);
                hooks.before_retry(&e, attempts, delay).await;
                tokio::time::sleep(delay).await;
            }
            Err(Attempt::Failed(e)) => return Err(e.gave_up(attempts)),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use wecom_wire::SourceErrorKind;

    use super::*;

    /// Counts what the loop asks of its caller.
    #[derive(Default)]
    struct Counting {
        retries: Vec<u32>,
        rejected: Cell<u32>,
    }

    impl RetryHooks<SourceError> for &mut Counting {
        fn tokens_rejected(&self) -> SourceError {
            SourceError::new(SourceErrorKind::Api { errcode: 40014 }, false, "rejected")
        }

        async fn before_retry(&mut self, _: &SourceError, attempt: u32, _: Duration) {
            self.retries.push(attempt);
        }

        fn token_rejected(&self) {
            self.rejected.set(self.rejected.get() + 1);
        }
    }

    fn quick(max_attempts: u32) -> RetryPolicy {
        RetryPolicy {
            max_attempts,
            base_delay: Duration::ZERO,
            max_delay: Duration::ZERO,
        }
    }

    fn tokens() -> TokenCache {
        let base = reqwest::Url::parse("http://127.0.0.1:1/").expect("url");
        TokenCache::new(&base, "ww1".into(), "s".into(), 1 << 20)
    }

    fn busy() -> SourceError {
        SourceError::new(SourceErrorKind::Api { errcode: -1 }, true, "busy")
    }

    /// Plays `script` one answer per attempt and counts the attempts.
    async fn run(
        policy: RetryPolicy,
        script: Vec<Result<u32, Attempt<SourceError>>>,
        hooks: &mut Counting,
    ) -> (Result<u32, SourceError>, usize) {
        let calls = Cell::new(0usize);
        let script = std::cell::RefCell::new(script.into_iter());
        let result = with_retries(
            &policy,
            &tokens(),
            || {
                calls.set(calls.get() + 1);
                let next = script.borrow_mut().next().expect("an answer per attempt");
                std::future::ready(next)
            },
            hooks,
        )
        .await;
        (result, calls.get())
    }

    #[tokio::test]
    async fn a_rejected_token_is_fetched_again_without_spending_an_attempt() {
        let mut hooks = Counting::default();
        let script = vec![
            Err(Attempt::TokenRejected),
            Err(Attempt::TokenRejected),
            Ok(7),
        ];
        let (result, calls) = run(quick(1), script, &mut hooks).await;
        assert_eq!(result.expect("third call succeeds"), 7);
        assert_eq!(calls, 3);
        assert_eq!(hooks.rejected.get(), MAX_TOKEN_REFRESHES);
        assert!(hooks.retries.is_empty());
    }

    #[tokio::test]
    async fn fresh_tokens_rejected_past_the_budget_end_the_call() {
        let mut hooks = Counting::default();
        let script = (0..=MAX_TOKEN_REFRESHES)
            .map(|_| Err(Attempt::TokenRejected))
            .collect();
        let (result, calls) = run(quick(8), script, &mut hooks).await;
        let e = result.expect_err("rejected");
        assert_eq!(e.message, "rejected");
        assert_eq!(calls, MAX_TOKEN_REFRESHES as usize + 1);
    }

    #[tokio::test]
    async fn transient_failures_are_retried_up_to_the_budget_then_say_so() {
        let mut hooks = Counting::default();
        let script = (0..3).map(|_| Err(Attempt::Failed(busy()))).collect();
        let (result, calls) = run(quick(3), script, &mut hooks).await;
        let e = result.expect_err("gave up");
        assert_eq!(calls, 3);
        assert_eq!(hooks.retries, [1, 2]);
        assert_eq!(e.message, "busy (gave up after 3 attempts)");

        let mut hooks = Counting::default();
        let script = vec![Err(Attempt::Failed(busy())), Ok(1)];
        let (result, calls) = run(quick(3), script, &mut hooks).await;
        assert_eq!(result.expect("second attempt"), 1);
        assert_eq!(calls, 2);
    }

    #[tokio::test]
    async fn final_failures_end_the_call_at_once_unchanged() {
        let mut hooks = Counting::default();
        let final_error = SourceError::new(SourceErrorKind::Api { errcode: 48002 }, false, "no");
        let (result, calls) = run(
            quick(5),
            vec![Err(Attempt::Failed(final_error))],
            &mut hooks,
        )
        .await;
        assert_eq!(result.expect_err("final").message, "no");
        assert_eq!(calls, 1);
        assert!(hooks.retries.is_empty());
    }

    #[test]
    fn delays_grow_and_stay_capped() {
        let p = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(2),
        };
        for _ in 0..50 {
            let d1 = p.delay(1);
            assert!(
                d1 >= Duration::from_millis(50) && d1 <= Duration::from_millis(100),
                "{d1:?}"
            );
            let d3 = p.delay(3);
            assert!(
                d3 >= Duration::from_millis(200) && d3 <= Duration::from_millis(400),
                "{d3:?}"
            );
            let d20 = p.delay(20);
            assert!(
                d20 >= Duration::from_secs(1) && d20 <= Duration::from_secs(2),
                "{d20:?}"
            );
            assert!(p.delay(u32::MAX) <= Duration::from_secs(2));
        }
    }
}
