//! The conversation list, search, directory, status, users, the audit log and sessions.
