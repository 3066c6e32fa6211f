//! One archived message as HTML: every message type rendered the way the chat app showed it.
