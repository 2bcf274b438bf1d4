//! A report's facts as components with stable keys, and the typed change events between two
//! versions of them.
//!
//! Memory modules are keyed by slot, and by bank and slot ("P1/D11") where the report repeats a
//! slot name across banks; disks by serial (else slot, else kernel name); NICs by name + MAC;
//! power supplies by location, else name (when no other unit has it), else their place in the
//! table ("#2"); Fibre Channel HBA ports by port WWN (placed by SCSI host); GPUs by serial, else
//! PCI address (placed by PCI address, so a new serial there is a replacement). A NIC's LLDP
//! neighbour is one of its fields: a new switch or port reads "eth2 moved to sw-b12 port 17".
//! RAID controllers by serial, else the tool's number ("#0"), placed by that number ("RAID
//! controller 0: firmware 4.680 → 4.740"); logical drives by their controller's key and number,
//! placed as "0/1" ("logical drive 0/1: state Optimal → Degraded").
//! Single sections (os, system, bios, cpu, bmc, ...) are components with an empty key.
//! A section absent from the report (its plugin failed or is disabled) is not diffed, so a
//! failing collector never reads as "every disk removed".
//!
//! A memory module's key only gains its bank where the slot name repeats, so hosts whose slot
//! names are unique (most of them) keep the keys they were stored under. When a key changes for
//! the same physical slot (an upgrade from `D11~2` to `P1/D11`, or `P1/D11` back to `D11` once
//! its twin in P0 is pulled), the diff pairs the two by bank and slot and re-keys the component
//! without an event.
//!
//! Modules: [`component`] (the stored form), [`kinds`] (one file per kind: keys and places),
//! [`diff`] (the events between two versions), [`describe`] (components in words).

pub mod component;
pub mod describe;
pub mod diff;
pub mod kinds;

pub use component::{Component, KINDS, Reported};
pub use describe::{human_bytes, render};
pub use diff::{Diff, diff};
pub use kinds::extract;

pub use crate::domain::changelog::Event;

#[cfg(test)]
mod tests;
