//! Integration tests of wecom-crypto: the reference vectors, the bad-input table of decrypt-data.md,
//! properties (round trips, never panicking), RSA keys and `sdkfileid`.

mod bad_input;
mod fileid;
mod keys;
mod props;
mod support;
mod vectors;
