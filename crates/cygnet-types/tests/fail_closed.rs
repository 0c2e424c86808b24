//! Responses fail closed: what is not the answer asked for does not parse, and the error names
//! what was wrong.

use cygnet_types::{
    ChatCompletion, ChatCompletionChunk, ChatCompletionChunkRef, ModerationResponse,
};

#[test]
fn answers_and_their_parts_are_read_only_from_objects() {
    use crate::ModerationResponse;
    use crate::{ChatCompletion, ChatCompletionChunk, ChatCompletionChunkRef};
    for array in [
        r#"["c1","chat.completion",1,"cygnet",[]]"#,
        r#"{"choices":[[0,{"content":"x"}]]}"#,
        r#"{"choices":[{"index":0,"message":[]}]}"#,
    ] {
        let error = serde_json::from_str::<ChatCompletion>(array).unwrap_err();
        assert!(
            error.to_string().contains("expected struct"),
            "{array}: {error}"
        );
    }
    for array in [
        r#"["c1","chat.completion.chunk",1,"cygnet",null,[]]"#,
        r#"{"choices":[[0,{"content":"x"}]]}"#,
        r#"{"choices":[{"index":0,"delta":[]}]}"#,
    ] {
        assert!(
            serde_json::from_str::<ChatCompletionChunk>(array).is_err(),
            "{array}"
        );
        assert!(ChatCompletionChunkRef::from_json(array).is_err(), "{array}");
    }
    assert!(serde_json::from_str::<ModerationResponse>(r#"["m",1,0.0,true,"m",1.0]"#).is_err());
}

#[test]
fn required_fields_missing_or_mistyped_are_named() {
    for (body, named) in [
        (r#"{}"#, "missing field `choices`"),
        (
            r#"{"choices":[{"message":{}}]}"#,
            "choices: missing field `index`",
        ),
        (
            r#"{"choices":[{"index":0}]}"#,
            "choices: missing field `message`",
        ),
        (
            r#"{"choices":[{"index":-1,"message":{}}]}"#,
            "choices: index: invalid value",
        ),
        (
            r#"{"choices":[{"index":0,"message":{"role":5}}]}"#,
            "choices: message: role: invalid type",
        ),
        (r#"{"choices":[],"id":7}"#, "id: invalid type"),
        (r#"{"choices":[],"error":{"message":"m"}}"#, "error: "),
        // Gray Swan's envelope: `error` is a boolean.
        (r#"{"choices":[],"error":true,"message":"m"}"#, "error: "),
        (r#"{"choices":[],"error":"m"}"#, "error: "),
        (r#"{"choices":[],"error":0}"#, "error: "),
    ] {
        let error = serde_json::from_str::<ChatCompletion>(body).unwrap_err();
        assert!(error.to_string().starts_with(named), "{body}: {error}");
    }
    for (body, named) in [
        (r#"{"detected":0,"passed":1}"#, "missing field `flagged`"),
        (
            r#"{"flagged":null,"detected":0,"passed":1}"#,
            "flagged: invalid type: null",
        ),
        (
            r#"{"flagged":false,"detected":"0","passed":1}"#,
            "detected: invalid type",
        ),
        (
            r#"{"flagged":false,"detected":0}"#,
            "missing field `passed`",
        ),
    ] {
        let error = serde_json::from_str::<ModerationResponse>(body).unwrap_err();
        assert!(error.to_string().starts_with(named), "{body}: {error}");
    }
}

#[test]
fn the_official_shapes_with_every_optional_field_absent_or_null_still_parse() {
    let completion: ChatCompletion = serde_json::from_str(
        r#"{"id":null,"object":null,"created":null,"model":null,"choices":[{"index":0,
        "message":{"role":null,"content":null,"tool_calls":null},"finish_reason":null,
        "logprobs":null}],"system_fingerprint":null,"usage":null,"error":null}"#,
    )
    .unwrap();
    assert_eq!(
        completion.choices[0].message.role,
        cygnet_types::Role::Assistant
    );
    let minimal: ChatCompletion =
        serde_json::from_str(r#"{"choices":[{"index":0,"message":{}}]}"#).unwrap();
    assert_eq!(minimal.content(), None);
    // `"error": false` is Gray Swan's envelope saying there is no error.
    let flagged_ok: ChatCompletion = serde_json::from_str(
        r#"{"error":false,"choices":[{"index":0,"message":{"refusal":null}}]}"#,
    )
    .unwrap();
    assert_eq!(flagged_ok.choices[0].message.refusal, None);
    assert!(ChatCompletionChunk::from_json(r#"{"error":false,"choices":[]}"#).is_ok());
    let verdict: ModerationResponse = serde_json::from_str(
        r#"{"id":null,"created":null,"model":null,"flagged":true,"detected":1,"passed":0,
        "categories":null,"rewrite":null,"system_fingerprint":null,"usage":null}"#,
    )
    .unwrap();
    assert!(verdict.flagged);
    for chunk in [
        r#"{"choices":[{"index":0,"delta":{}}]}"#,
        r#"{"id":null,"object":null,"created":null,"model":null,"system_fingerprint":null,
        "choices":[{"index":0,"delta":{"role":null,"content":null,"tool_calls":null},
        "finish_reason":null,"logprobs":null}],"usage":null}"#,
    ] {
        assert!(ChatCompletionChunk::from_json(chunk).is_ok(), "{chunk}");
        assert!(ChatCompletionChunkRef::from_json(chunk).is_ok(), "{chunk}");
    }
}
