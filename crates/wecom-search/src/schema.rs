//! The index's documents: one per archived message, its text tokenized twice (unigrams,
//! bigrams), the filters as raw terms, the sort keys as fast fields.

use tantivy::TantivyDocument;
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions,
};
use wecom_store::StoredMessage;

use crate::tokenizer::{BIGRAMS, UNIGRAMS};

/// The fields of a message's document.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fields {
    /// Stored: the key to the archive, and to delete the document when the message changes.
    pub msgid: Field,
    pub uni: Field,
    pub bi: Field,
    pub conversation: Field,
    pub from: Field,
    /// The sender and every receiver.
    pub participant: Field,
    pub roomid: Field,
    pub msgtype: Field,
    /// 1 or 0.
    pub external: Field,
    pub has_media: Field,
    pub recalled: Field,
    pub msgtime: Field,
    /// The message's change-feed position: a unique, stable tie-break and the snapshot of a
    /// paginated search.
    pub feed_pos: Field,
}

pub(crate) fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let grams = |tokenizer| {
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(tokenizer)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        )
    };
    let fields = Fields {
        msgid: b.add_text_field("msgid", STRING | STORED),
        uni: b.add_text_field("uni", grams(UNIGRAMS)),
        bi: b.add_text_field("bi", grams(BIGRAMS)),
        conversation: b.add_text_field("conversation", STRING),
        from: b.add_text_field("from", STRING),
        participant: b.add_text_field("participant", STRING),
        roomid: b.add_text_field("roomid", STRING),
        msgtype: b.add_text_field("msgtype", STRING),
        external: b.add_u64_field("external", INDEXED),
        has_media: b.add_u64_field("has_media", INDEXED),
        recalled: b.add_u64_field("recalled", INDEXED),
        msgtime: b.add_i64_field("msgtime", INDEXED | FAST),
        feed_pos: b.add_u64_field("feed_pos", INDEXED | FAST | STORED),
    };
    (b.build(), fields)
}

/// Whether a stored message references media (every media reference carries an `sdkfileid`).
pub(crate) fn has_media(m: &StoredMessage) -> bool {
    m.json.contains("\"sdkfileid\"")
}

impl Fields {
    pub(crate) fn document(&self, m: &StoredMessage) -> TantivyDocument {
        let mut d = TantivyDocument::default();
        d.add_text(self.msgid, &m.msgid);
        if !m.text.is_empty() {
            d.add_text(self.uni, &m.text);
            d.add_text(self.bi, &m.text);
        }
        d.add_text(self.conversation, &m.conversation);
        d.add_text(self.from, &m.from);
        d.add_text(self.participant, &m.from);
        for to in &m.tolist {
            if *to != m.from {
                d.add_text(self.participant, to);
            }
        }
        if !m.roomid.is_empty() {
            d.add_text(self.roomid, &m.roomid);
        }
        if let Some(t) = &m.msgtype {
            d.add_text(self.msgtype, t);
        }
        d.add_u64(self.external, u64::from(m.external));
        d.add_u64(self.has_media, u64::from(has_media(m)));
        d.add_u64(self.recalled, u64::from(m.recalled_by.is_some()));
        d.add_i64(self.msgtime, m.msgtime);
        d.add_u64(self.feed_pos, m.feed_pos);
        d
    }
}
