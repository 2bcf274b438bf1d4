//! Integration tests for assetkit-core: golden fixtures, bad input, fuzzing, raw SMBIOS.

mod bad_input;
mod fuzz;
mod golden;
mod raw_smbios;
mod support;
