//! Integration tests for the assetkit command: the real binary against the live host, against
//! a real assetkitd (in-process, on 127.0.0.1), and over a real sshd on loopback.
#![allow(clippy::too_many_lines)] // a test reads top to bottom as one story

mod agent;
mod collect;
mod hostile;
mod support;
mod sweep;
