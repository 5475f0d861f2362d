-- 0005: each session counts its refreshes in a window (a per-session rate
-- limit decided by the rotation's own UPDATE), and users' live sessions
-- are found by age to end the oldest past the cap.

ALTER TABLE sessions ADD COLUMN refresh_window_start BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN refresh_window_count INTEGER NOT NULL DEFAULT 0;
