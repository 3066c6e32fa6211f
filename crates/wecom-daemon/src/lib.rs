//! The archive daemon as a library. For now it holds the daemon's configuration ([`config`]):
//! the typed file, its environment overrides and validation, the factories that turn it into
//! runtime settings, and the commented template generated from it.

pub mod config;
