//! The daemon's configuration: one typed TOML document (unknown keys are errors), environment
//! overrides passed in as data, paths resolved against the file's folder.
//!
//! Split by job: [`schema`] (the file's sections and their defaults, and the resolved
//! [`Config`]), [`overrides`] (the environment), [`validate`] (loading and checking),
//! [`factory`] (runtime settings built from a [`Config`]) and [`template`] (the commented file
//! `init`, `emulator --write-config` and `demo` write, rendered from a [`ConfigFile`] value).
//! The configuration knows the HTTP server only through [`Config::tls_settings`]: the API's
//! settings (`[api]`) are data for the API to interpret.

mod error;
pub mod factory;
pub mod overrides;
pub mod schema;
pub mod template;
pub mod validate;

pub use error::{ConfigError, ConfigErrorKind};
pub use overrides::ENV_OVERRIDES;
pub use schema::{
    ApiSection, ArchiveSection, CallbackSettings, Config, ConfigFile, CorpConfig, CorpSection,
    DEFAULT_MAX_RESPONSE_MB, DEFAULT_SEARCH_HEAP_MB, KeysSection, MediaSection, NamesSection,
    SdkSection, SearchConfig, SearchSection, ServerSection, SourceKind, SyncSection,
};
pub use template::{KEY_DOCS, KeyDoc, SECTION_DOCS, SectionDoc};
pub use validate::{MAX_RESPONSE_MB_LIMIT, MAX_SEARCH_HEAP_MB, MIN_SEARCH_HEAP_MB};

#[cfg(test)]
mod tests;
