//! Integration tests for assetkit-core: golden fixtures, bad input, fuzzing, raw SMBIOS, SMBIOS
//! cases through the collectors.
#![allow(clippy::type_complexity, clippy::too_many_lines)] // a test reads top to bottom as one story

mod bad_input;
mod cloud;
mod fru;
mod fuzz;
mod golden;
mod guests;
mod hardware;
mod packages;
mod packages_bad;
mod raid;
mod raw_smbios;
mod smbios_cases;
mod stream;
mod support;
mod versions;
mod wwn;
