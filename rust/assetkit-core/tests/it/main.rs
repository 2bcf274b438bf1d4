//! Integration tests for assetkit-core: golden fixtures, bad input, fuzzing, raw SMBIOS, SMBIOS
//! cases through the collectors.

mod bad_input;
mod fuzz;
mod golden;
mod hardware;
mod raid;
mod raw_smbios;
mod smbios_cases;
mod support;
