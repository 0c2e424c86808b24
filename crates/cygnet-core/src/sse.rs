//! Incremental server-sent-events decoder (placeholder; being written).
