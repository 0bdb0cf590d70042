-- The return channel's writer no longer rewrites `current_votes` with every vote (each vote
-- dirtied a random B-tree page, most of a group commit's WAL pages); it keeps the counted votes
-- in memory and settles `current_votes` about once a second, in key order. See
-- crates/store/src/counted.rs.
--
-- `current_votes` reflects every vote whose id is at most `vote_id`; a household's counted vote
-- is its row there, overridden by its later votes after `vote_id` in id order.
CREATE TABLE current_votes_watermark (
    only    INTEGER PRIMARY KEY CHECK (only = 1),
    vote_id INTEGER NOT NULL CHECK (vote_id >= 0)
);

-- Until now every vote updated `current_votes` in its own transaction: it is complete.
INSERT INTO current_votes_watermark (only, vote_id) SELECT 1, coalesce(max(id), 0) FROM votes;

-- Settling reads the votes after the watermark and the households' grids; no new index needed
-- (the votes' rowid is the order).
