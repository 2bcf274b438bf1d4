//! Integration tests for assetkit-core.
