//! Where `cygnet chat` sends its requests: Cygnet's own chat completions, or Cygnal's
//! protected completions for a provider's model (`--cygnal`).
//!
//! The chat logic builds one [`ChatCompletionRequest`] either way; on Cygnal's route it is
//! sent in OpenAI's format ([`cygnal_request`]): the `data` role, which OpenAI's format does
//! not have, becomes `user` (as for the monitor), and `--max-tokens` becomes
//! `max_completion_tokens`, the name OpenAI's current models read.

use cygnet::{
    ChatCompletion, ChatCompletionRequest, ChatStream, Client, Cygnal, CygnalRequest, Message, Role,
};

/// The route of a chat: Cygnet, or Cygnal with the provider's key. Cheap to copy.
#[derive(Clone, Copy, Debug)]
pub enum Route<'a> {
    /// `POST /chat/completion`, the request as it is.
    Cygnet(&'a Client),
    /// `POST /cygnal/chat/completions`, the request in OpenAI's format.
    Cygnal(&'a Cygnal),
}

impl<'a> From<&'a Client> for Route<'a> {
    fn from(client: &'a Client) -> Self {
        Route::Cygnet(client)
    }
}

impl<'a> From<&'a Cygnal> for Route<'a> {
    fn from(cygnal: &'a Cygnal) -> Self {
        Route::Cygnal(cygnal)
    }
}

impl Route<'_> {
    /// The whole answer to `request`.
    ///
    /// # Errors
    /// The client's error.
    pub async fn chat(self, request: &ChatCompletionRequest) -> cygnet::Result<ChatCompletion> {
        match self {
            Route::Cygnet(client) => client.chat(request).await,
            Route::Cygnal(cygnal) => cygnal.chat(&cygnal_request(request)).await,
        }
    }

    /// The streamed answer to `request`.
    ///
    /// # Errors
    /// The client's error.
    pub async fn chat_stream(self, request: &ChatCompletionRequest) -> cygnet::Result<ChatStream> {
        match self {
            Route::Cygnet(client) => client.chat_stream(request).await,
            Route::Cygnal(cygnal) => cygnal.chat_stream(&cygnal_request(request)).await,
        }
    }
}

/// `request` in OpenAI's format, for Cygnal: `data` messages as `user` ones, `max_tokens` as
/// `max_completion_tokens`, everything else as it is.
pub fn cygnal_request(request: &ChatCompletionRequest) -> CygnalRequest {
    let messages = request
        .messages
        .iter()
        .map(|message| match message.role {
            Role::Data => {
                let mut user = message.clone();
                user.role = Role::User;
                user
            }
            _ => message.clone(),
        })
        .collect::<Vec<Message>>();
    let mut cygnal = CygnalRequest::new(request.model.as_str(), messages);
    cygnal.max_completion_tokens = request.max_tokens;
    cygnal.temperature = request.temperature;
    cygnal.frequency_penalty = request.frequency_penalty;
    cygnal.top_p = request.top_p;
    cygnal.n = request.n;
    cygnal.moderate_before = request.moderate_before;
    cygnal.tools = request.tools.clone();
    cygnal.tool_choice = request.tool_choice.clone();
    cygnal
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_becomes_user_and_max_tokens_becomes_max_completion_tokens() {
        let request = ChatCompletionRequest::new(
            "gpt-5",
            vec![
                Message::system("s"),
                Message::user("q"),
                Message::data("page"),
            ],
        )
        .max_tokens(64)
        .temperature(0.5);
        assert_eq!(
            serde_json::to_string(&cygnal_request(&request)).unwrap(),
            r#"{"messages":[{"role":"system","content":"s"},{"role":"user","content":"q"},{"role":"user","content":"page"}],"model":"gpt-5","max_completion_tokens":64,"temperature":0.5}"#
        );
    }
}
