//! A conversation's messages, a message and its raw JSON, media objects and playable renditions.
