-- A body's last frame may declare more bytes than the body holds (a count that includes an LF
-- the sender did not send, or an absurd count). When what follows the length prefix parses as a
-- syslog message it is stored as that message, and the disagreement is recorded here as a
-- 'frame_length_mismatch' event, so /loss can say how often it happened.
ALTER TABLE loss_events DROP CONSTRAINT loss_events_event_check;
ALTER TABLE loss_events ADD CONSTRAINT loss_events_event_check CHECK (
    event IN ('dropped', 'msg_count_mismatch', 'duplicate_frame', 'frame_length_mismatch')
);
COMMENT ON COLUMN loss_events.event IS
    'dropped (L10/L12/L13 report), msg_count_mismatch (Logplex-Msg-Count disagreed), duplicate_frame (retry answered from the ledger) or frame_length_mismatch (a last frame stored from the message its overrunning count covered)';
COMMENT ON COLUMN loss_events.count IS
    'Messages dropped; for msg_count_mismatch the header count minus the parsed count; 1 for a duplicate; for frame_length_mismatch the frames read that way in the request';
