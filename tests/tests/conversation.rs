//! Multi-turn by hand: each answer becomes the next request's assistant turn, over the mock,
//! and a blocked answer is an error that leaves the conversation as it was.

use cygnet::mock::{MockReply, MockTransport};
use cygnet::{models, Conversation, Error};
use futures_executor::block_on;
use serde_json::json;

#[test]
fn the_second_request_carries_the_first_answer() {
    let mock = MockTransport::conversation([
        MockReply::text("Paris."),
        MockReply::text("About two million."),
    ]);
    let client = mock.client();
    let mut conversation = Conversation::new(models::CYGNET).with_system("Be brief.");
    let answers: Result<Vec<String>, Error> = block_on(async {
        let mut answers = Vec::new();
        for question in ["Capital of France?", "Population?"] {
            conversation.user(question);
            let completion = client.chat(&conversation.request()).await?;
            let answer = conversation.push_answer(&completion)?;
            answers.push(answer.content.clone().unwrap_or_default());
        }
        Ok(answers)
    });
    assert_eq!(answers.unwrap(), ["Paris.", "About two million."]);
    let sent = mock.last_request().unwrap().json();
    assert_eq!(
        sent["messages"],
        json!([
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Capital of France?"},
            {"role": "assistant", "content": "Paris."},
            {"role": "user", "content": "Population?"},
        ])
    );
    assert_eq!(sent["model"], "cygnet");
    mock.assert_all_consumed();
}

#[test]
fn a_blocked_answer_is_an_error_and_is_not_appended() {
    let mock = MockTransport::conversation([MockReply::blocked("Sorry, I can't help with that.")]);
    let client = mock.client();
    let mut conversation = Conversation::new(models::CYGNET);
    conversation.user("Something the guard blocks.");
    let result: Result<(), Error> = block_on(async {
        let completion = client.chat(&conversation.request()).await?;
        conversation.push_answer(&completion)?;
        Ok(())
    });
    let error = result.unwrap_err();
    let blocked = error.as_blocked().expect("Error::Blocked");
    assert_eq!(blocked.refusal(), Some("Sorry, I can't help with that."));
    assert_eq!(conversation.messages().len(), 1, "nothing appended");
}
