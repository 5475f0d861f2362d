-- 0004: the UTS #39 skeleton of each username (auth.UsernameSkeleton), so
-- that a name that looks like a taken one ("аlice" in Cyrillic beside
-- "alice") is refused like a taken one. The skeleton is computed in Go:
-- Migrate fills it in for the rows that lack it. NULLs do not collide, so
-- existing users whose names look alike keep their accounts (the later
-- one is left without a skeleton); every new user has one.

ALTER TABLE users ADD COLUMN username_skeleton TEXT COLLATE "C";

CREATE UNIQUE INDEX users_username_skeleton ON users (username_skeleton);
