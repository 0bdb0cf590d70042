-- The return channel's ingest (issue 4): receipts of the messages set-top boxes sent, the box's
-- sequence number on votes and comments, and "notice seen" receipts.
--
-- Every table here is appended to in rowid order only. Deduplication by (card, seq) is answered
-- from an index the single writer keeps in memory and rebuilds from `rc_receipts` at start, not
-- from a (card_id, seq) B-tree: boxes arrive in random card order, and measured on the 2-core
-- machines (WAL, synchronous=FULL, 1,000 rows a transaction, 1.1 M rows already present) a
-- primary key on (card_id, seq) took 11,400 rows/s against 151,000 rows/s for a rowid append
-- (a per-card high-water row updated in place: 38,000 rows/s). See docs/return-channel.md §14.

-- One row per message whose tag verified and whose (card, seq) it therefore takes up: what the
-- headend answered (`stored`, or the reason code of a refusal, so a resent copy gets the same
-- answer). Messages whose tag failed are not here: the real message with that seq may still come.
CREATE TABLE rc_receipts (
    id          INTEGER PRIMARY KEY,
    card_id     TEXT NOT NULL CHECK (length(card_id) = 16),
    seq         INTEGER NOT NULL,  -- u64 on the wire, stored as its two's-complement i64
    tag         BLOB NOT NULL CHECK (length(tag) = 32),
    kind        TEXT NOT NULL CHECK (kind IN ('vote', 'comment', 'notice_seen')),
    status      TEXT NOT NULL,     -- 'stored' or a refusal's reason code
    sent_at     INTEGER NOT NULL,
    received_at INTEGER NOT NULL
);

-- The box's seq, for votes and comments that came through the return channel (NULL otherwise):
-- for one box, a higher seq is the later vote, whatever its clock said.
ALTER TABLE votes ADD COLUMN seq INTEGER;
ALTER TABLE comments ADD COLUMN seq INTEGER;
ALTER TABLE current_votes ADD COLUMN card_id TEXT;
ALTER TABLE current_votes ADD COLUMN seq INTEGER;

-- PROVISIONAL until notices exist (issue 5, migration 0003): a household opened a notice. Any
-- positive notice id is accepted; 0003 may check them against the notices table.
CREATE TABLE rc_notice_seen (
    id          INTEGER PRIMARY KEY,
    card_id     TEXT NOT NULL CHECK (length(card_id) = 16),
    notice_id   INTEGER NOT NULL CHECK (notice_id > 0),
    seen_at     INTEGER NOT NULL,  -- the box's sent_at
    received_at INTEGER NOT NULL
);
