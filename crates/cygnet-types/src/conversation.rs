//! Multi-turn conversations: from one answer to the next request.
//!
//! The API is stateless: each request carries the whole conversation so far. After an answer,
//! the next request needs the model's message as an assistant turn (with the tool calls it
//! made, so that `tool` messages can answer them), then the user's next message or the tool
//! results. [`ChatCompletion::to_message`] gives that turn; [`Conversation`] keeps the messages
//! and appends answers and tool results.
//!
//! # Blocked answers
//!
//! A choice Gray Swan blocked carries its refusal ("Sorry, I can't help with that.") as
//! content. Sent back as an assistant turn it would read, to the model and to whoever reads
//! the history, as something the model said. So [`ChatCompletion::to_message`] and
//! [`Conversation::push_answer`] refuse a blocked answer with the [`BlockedAnswer`] error
//! (which keeps the completion, to show its refusal), and the conversation stays as it was:
//! the caller decides whether to let the user rephrase or to end it. A caller that really
//! wants the refusal in the history can push it as a message of its own choosing.
//!
//! There is deliberately no `From<ResponseMessage> for Message`: a message alone does not
//! know its choice's finish reason, so such a conversion could not refuse a blocked answer.

use crate::blocked::BlockedAnswer;
use crate::completion::ChatCompletion;
use crate::message::{Message, Role};
use crate::request::ChatCompletionRequest;
use crate::tool::ToolCall;

impl ChatCompletion {
    /// The first choice's message as the assistant turn of the next request: its content and
    /// its tool calls, kept as they came (the refusal field is not part of a request).
    ///
    /// A completion with no choices gives an assistant message with neither content nor tool
    /// calls.
    ///
    /// # Errors
    ///
    /// [`BlockedAnswer`] when Gray Swan blocked a choice: its refusal must not become an
    /// ordinary assistant turn (see the [module docs](crate::conversation#blocked-answers)).
    ///
    /// ```
    /// use cygnet::{ChatCompletion, Message, Role};
    /// let body = r#"{"choices":[{"index":0,"finish_reason":"stop",
    ///   "message":{"role":"assistant","content":"Paris."}}]}"#;
    /// let completion: ChatCompletion = serde_json::from_str(body).unwrap();
    /// assert_eq!(completion.to_message().unwrap(), Message::assistant("Paris."));
    ///
    /// let body = r#"{"choices":[{"index":0,"finish_reason":"violation","message":{
    ///   "content":"Sorry, I can't help with that.","refusal":"Sorry, I can't help with that."}}]}"#;
    /// let blocked: ChatCompletion = serde_json::from_str(body).unwrap();
    /// assert!(blocked.to_message().is_err());
    /// ```
    pub fn to_message(&self) -> Result<Message, BlockedAnswer> {
        if self.is_blocked() {
            return Err(self
                .clone()
                .into_unblocked()
                .expect_err("a blocked completion stays blocked"));
        }
        let choice = self.choices.first();
        Ok(assistant_turn(
            choice.and_then(|c| c.message.content.clone()),
            choice.and_then(|c| c.message.tool_calls.clone()),
        ))
    }

    /// [`ChatCompletion::to_message`], taking the completion.
    ///
    /// # Errors
    ///
    /// [`BlockedAnswer`] when Gray Swan blocked a choice; it holds the completion.
    pub fn into_message(self) -> Result<Message, BlockedAnswer> {
        let completion = self.into_unblocked()?;
        Ok(match completion.choices.into_iter().next() {
            Some(choice) => assistant_turn(choice.message.content, choice.message.tool_calls),
            None => assistant_turn(None, None),
        })
    }
}

fn assistant_turn(content: Option<String>, tool_calls: Option<Vec<ToolCall>>) -> Message {
    Message {
        role: Role::Assistant,
        content,
        tool_calls,
        tool_call_id: None,
    }
}

/// A conversation being held: the model and the messages so far, to which answers, the
/// user's next messages and tool results are appended. [`Conversation::request`] is the next
/// request.
///
/// ```no_run
/// use cygnet::{models, Conversation};
///
/// # async fn run(client: cygnet::Client) -> Result<(), cygnet::Error> {
/// let mut conversation = Conversation::new(models::CYGNET)
///     .with_system("You are a helpful assistant.");
/// for question in ["What is the capital of France?", "And how many people live there?"] {
///     conversation.user(question);
///     let completion = client.chat(&conversation.request()).await?;
///     // A blocked answer is an error here (`Error::Blocked`), and is not appended.
///     let answer = conversation.push_answer(&completion)?;
///     println!("{}", answer.content.as_deref().unwrap_or_default());
/// }
/// # Ok(()) }
/// ```
///
/// With tools: the assistant turn keeps the model's tool calls, and each result answers one
/// by its id.
///
/// ```
/// use cygnet::{models, ChatCompletion, Conversation, Role};
///
/// let mut conversation = Conversation::new(models::CYGNET);
/// conversation.user("What is the weather in Columbus?");
/// let body = r#"{"choices":[{"index":0,"finish_reason":"tool_calls","message":{"content":null,
///   "tool_calls":[{"id":"call_1","type":"function",
///   "function":{"name":"get_weather","arguments":"{\"location\":\"Columbus\"}"}}]}}]}"#;
/// let completion: ChatCompletion = serde_json::from_str(body).unwrap();
/// let calls = conversation.push_answer(&completion).unwrap().tool_calls.clone().unwrap();
/// for call in &calls {
///     conversation.tool_result(&call.id, r#"{"forecast":"sunny, 75°F"}"#);
/// }
/// let roles: Vec<_> = conversation.messages().iter().map(|m| m.role.clone()).collect();
/// assert_eq!(roles, [Role::User, Role::Assistant, Role::Tool]);
/// assert_eq!(conversation.request().messages[2].tool_call_id.as_deref(), Some("call_1"));
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Conversation {
    model: String,
    messages: Vec<Message>,
}

impl Conversation {
    /// An empty conversation with `model` (see [`models`](crate::models)).
    pub fn new(model: impl Into<String>) -> Self {
        Self {
            model: model.into(),
            messages: Vec::new(),
        }
    }

    /// The conversation with a `system` message appended.
    #[must_use]
    pub fn with_system(mut self, content: impl Into<String>) -> Self {
        self.messages.push(Message::system(content));
        self
    }

    /// Appends any message.
    pub fn push(&mut self, message: Message) -> &mut Self {
        self.messages.push(message);
        self
    }

    /// Appends a `user` message.
    pub fn user(&mut self, content: impl Into<String>) -> &mut Self {
        self.push(Message::user(content))
    }

    /// Appends a `data` message: untrusted content the model reads but does not obey.
    pub fn data(&mut self, content: impl Into<String>) -> &mut Self {
        self.push(Message::data(content))
    }

    /// Appends a `tool` message: the result of the tool call with id `tool_call_id`.
    pub fn tool_result(
        &mut self,
        tool_call_id: impl Into<String>,
        content: impl Into<String>,
    ) -> &mut Self {
        self.push(Message::tool(tool_call_id, content))
    }

    /// Appends the answer's first choice as an assistant turn, tool calls included (see
    /// [`ChatCompletion::to_message`]), and returns it.
    ///
    /// # Errors
    ///
    /// [`BlockedAnswer`] when Gray Swan blocked the answer; nothing is appended then (see the
    /// [module docs](crate::conversation#blocked-answers)). With `?` in a function returning
    /// `cygnet::Error`, it becomes `Error::Blocked`.
    pub fn push_answer(&mut self, completion: &ChatCompletion) -> Result<&Message, BlockedAnswer> {
        let message = completion.to_message()?;
        self.messages.push(message);
        Ok(self.messages.last().expect("just pushed"))
    }

    /// The model.
    pub fn model(&self) -> &str {
        &self.model
    }

    /// The messages so far, oldest first.
    pub fn messages(&self) -> &[Message] {
        &self.messages
    }

    /// The messages, to edit (drop old turns, replace a system message).
    pub fn messages_mut(&mut self) -> &mut Vec<Message> {
        &mut self.messages
    }

    /// The next request: the model and every message so far. Set more fields on it (tools,
    /// temperature) as on any [`ChatCompletionRequest`].
    pub fn request(&self) -> ChatCompletionRequest {
        ChatCompletionRequest::new(self.model.clone(), self.messages.clone())
    }

    /// The messages, taking the conversation.
    pub fn into_messages(self) -> Vec<Message> {
        self.messages
    }
}

impl From<Conversation> for ChatCompletionRequest {
    fn from(conversation: Conversation) -> Self {
        ChatCompletionRequest::new(conversation.model, conversation.messages)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn completion(body: &str) -> ChatCompletion {
        serde_json::from_str(body).unwrap()
    }

    const BLOCKED: &str = r#"{"choices":[{"index":0,"finish_reason":"violation","message":{
        "content":"Sorry, I can't help with that.","refusal":"Sorry, I can't help with that."}}]}"#;

    #[test]
    fn an_answer_becomes_the_next_requests_assistant_turn() {
        let mut conversation = Conversation::new("cygnet").with_system("Be brief.");
        conversation.user("Capital of France?");
        let answer = completion(
            r#"{"choices":[{"index":0,"finish_reason":"stop","message":{"content":"Paris."}}]}"#,
        );
        assert_eq!(
            conversation.push_answer(&answer).unwrap(),
            &Message::assistant("Paris.")
        );
        conversation.user("Population?");
        let request = conversation.request();
        assert_eq!(request.model, "cygnet");
        assert_eq!(
            serde_json::to_value(&request.messages).unwrap(),
            serde_json::json!([
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Capital of France?"},
                {"role": "assistant", "content": "Paris."},
                {"role": "user", "content": "Population?"},
            ])
        );
        assert_eq!(ChatCompletionRequest::from(conversation), request);
    }

    #[test]
    fn tool_calls_are_kept_and_answered_by_id() {
        let answer = completion(
            r#"{"choices":[{"index":0,"finish_reason":"tool_calls","message":{"content":null,
            "tool_calls":[{"id":"call_1","type":"function",
            "function":{"name":"f","arguments":"{}"}}]}}]}"#,
        );
        let message = answer.to_message().unwrap();
        assert_eq!(message.role, Role::Assistant);
        assert_eq!(message.content, None);
        assert_eq!(message.tool_calls.as_deref(), Some(answer.tool_calls()));
        assert_eq!(answer.clone().into_message().unwrap(), message);
        assert_eq!(
            serde_json::to_value(&message).unwrap(),
            serde_json::json!({"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
            ]})
        );
    }

    #[test]
    fn a_blocked_answer_is_refused_and_not_appended() {
        let blocked = completion(BLOCKED);
        let mut conversation = Conversation::new("cygnet");
        conversation.user("Something bad.");
        let before = conversation.clone();
        let error = conversation.push_answer(&blocked).unwrap_err();
        assert_eq!(error.refusal(), Some("Sorry, I can't help with that."));
        assert_eq!(error.completion(), &blocked);
        assert_eq!(conversation, before);
        assert!(blocked.to_message().is_err());
        assert!(blocked.into_message().is_err());
    }

    #[test]
    fn a_blocked_second_choice_is_refused_too() {
        let body = r#"{"choices":[
            {"index":0,"finish_reason":"stop","message":{"content":"fine"}},
            {"index":1,"finish_reason":"violation","message":{"content":"Sorry."}}]}"#;
        assert_eq!(completion(body).to_message().unwrap_err().choice_index(), 1);
    }

    #[test]
    fn no_choices_is_an_empty_assistant_turn() {
        let empty = completion(r#"{"choices":[]}"#);
        let message = empty.to_message().unwrap();
        assert_eq!(
            (message.role, message.content, message.tool_calls),
            (Role::Assistant, None, None)
        );
    }
}
