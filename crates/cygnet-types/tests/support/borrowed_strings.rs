//! What the fast chunk parse must agree with serde_json on besides the value: which strings
//! of a borrowed chunk are borrowed. Shared, as a file, by the property test
//! (`tests/chunk_scan.rs`) and the fuzz target (`fuzz/fuzz_targets/chunk_scan.rs`), which
//! live in different workspaces.

use std::borrow::Cow;

use cygnet_types::ChatCompletionChunkRef;

/// Every string of a borrowed chunk, with whether it is borrowed.
pub fn strings<'c>(chunk: &'c ChatCompletionChunkRef<'_>) -> Vec<(&'c str, bool)> {
    let mut all = vec![&chunk.id, &chunk.object, &chunk.model];
    all.extend(&chunk.system_fingerprint);
    for choice in &chunk.choices {
        all.extend(&choice.delta.content);
        all.extend(&choice.delta.refusal);
        for call in choice.delta.tool_calls.iter().flatten() {
            all.extend(&call.id);
            if let Some(function) = &call.function {
                all.extend(&function.name);
                all.extend(&function.arguments);
            }
        }
    }
    all.into_iter()
        .map(|s| (s.as_ref(), matches!(s, Cow::Borrowed(_))))
        .collect()
}
