//! Integration tests for the assetkit command.
