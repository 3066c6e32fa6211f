//! The daemon library's integration tests: one test binary, real servers on loopback port 0.

mod run;
