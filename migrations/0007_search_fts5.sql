-- Search at the price of a plain write: one FTS5 row per customer instead of a row per trigram. D1 meters a row
-- written through a virtual table once (its shadow tables are not counted), so a create writes the customer, its
-- b-tree index entries and one index row; and FTS5's own trigram tokenizer folds case Unicode-wide, the same for the
-- documents and the queries. Replaces 0006's trigram, count and metadata tables.
DROP TRIGGER IF EXISTS `search_customers_insert`;--> statement-breakpoint
DROP TRIGGER IF EXISTS `search_customers_update_email`;--> statement-breakpoint
DROP TRIGGER IF EXISTS `search_customers_update_name`;--> statement-breakpoint
DROP TRIGGER IF EXISTS `search_customers_update_metadata`;--> statement-breakpoint
DROP TRIGGER IF EXISTS `search_customers_delete`;--> statement-breakpoint
DROP TABLE IF EXISTS `customer_trigrams`;--> statement-breakpoint
DROP TABLE IF EXISTS `customer_trigram_counts`;--> statement-breakpoint
DROP TABLE IF EXISTS `customer_metadata`;--> statement-breakpoint
DROP TABLE IF EXISTS `search_positions`;--> statement-breakpoint
-- An exact name is found through the index below, as a substring is: one b-tree entry fewer per write.
DROP INDEX IF EXISTS `customers_scope_name`;--> statement-breakpoint
-- An account's customers in rowid order (an index's entries end in the rowid): a search walks them newest first
-- from its cursor when that reads less than the index would (the FTS5 table visits every match before a cursor).
CREATE INDEX `customers_scope_rowid` ON `customers` (`account_id`,`testmode`);--> statement-breakpoint
-- Each (account, mode) on this shard has a number, written once: its three-character token in the index's `scope`
-- column (private-use characters, one trigram), so a search reads only its own account's entries however large the
-- other accounts on the shard are.
CREATE TABLE `search_scopes` (
	`n` integer PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`testmode` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `search_scopes_account` ON `search_scopes` (`account_id`,`testmode`);--> statement-breakpoint
-- Contentless (the customers table holds the text), deletable by rowid alone, the customer's rowid as its own, and
-- `detail = none`: which trigrams a customer holds, not where (82 bytes a customer instead of 376 with positions,
-- measured in bench --search), so a match gives candidates and the Worker checks each against the query exactly.
-- Every column is wrapped in U+001F so an exact value's first and last trigrams are its own; metadata pairs are key
-- U+001E value. The tokenizer passes over U+0000 (which an FTS5 query cannot hold either): the Worker's check decides.
CREATE VIRTUAL TABLE `customer_search` USING fts5(`scope`, `email`, `name`, `metadata`, tokenize = 'trigram case_sensitive 0', content = '', contentless_delete = 1, detail = none);
--> statement-breakpoint
-- A deleted customer's terms are removed from the index's pages, not only marked deleted: an erasure leaves nothing.
INSERT INTO `customer_search` (`customer_search`, `rank`) VALUES ('secure-delete', 1);
--> statement-breakpoint
CREATE TRIGGER `search_customers_insert` AFTER INSERT ON `customers`
BEGIN
  -- Not OR IGNORE: an outer INSERT OR REPLACE (a move's copy) would turn it into a REPLACE, renumbering the scope.
  INSERT INTO `search_scopes` (`account_id`, `testmode`) SELECT NEW.account_id, NEW.testmode
    WHERE NOT EXISTS (SELECT 1 FROM `search_scopes` WHERE `account_id` = NEW.account_id AND `testmode` = NEW.testmode);
  INSERT INTO `customer_search` (`rowid`, `scope`, `email`, `name`, `metadata`)
    SELECT NEW.rowid, char(57344 + s.n % 6400, 57344 + (s.n / 6400) % 6400, 57344 + s.n / 40960000),
      char(31) || NEW.email || char(31),
      char(31) || coalesce(NEW.name, '') || char(31),
      (SELECT char(31) || group_concat(m.key || char(30) || m.value, char(31)) || char(31) FROM json_each(NEW.metadata) m)
    FROM `search_scopes` s WHERE s.account_id = NEW.account_id AND s.testmode = NEW.testmode;
END;
--> statement-breakpoint
CREATE TRIGGER `search_customers_update` AFTER UPDATE OF `email`, `name`, `metadata` ON `customers`
  WHEN OLD.email IS NOT NEW.email OR OLD.name IS NOT NEW.name OR OLD.metadata IS NOT NEW.metadata
BEGIN
  DELETE FROM `customer_search` WHERE `rowid` = OLD.rowid;
  INSERT INTO `customer_search` (`rowid`, `scope`, `email`, `name`, `metadata`)
    SELECT NEW.rowid, char(57344 + s.n % 6400, 57344 + (s.n / 6400) % 6400, 57344 + s.n / 40960000),
      char(31) || NEW.email || char(31),
      char(31) || coalesce(NEW.name, '') || char(31),
      (SELECT char(31) || group_concat(m.key || char(30) || m.value, char(31)) || char(31) FROM json_each(NEW.metadata) m)
    FROM `search_scopes` s WHERE s.account_id = NEW.account_id AND s.testmode = NEW.testmode;
END;
--> statement-breakpoint
CREATE TRIGGER `search_customers_delete` AFTER DELETE ON `customers`
BEGIN
  DELETE FROM `customer_search` WHERE `rowid` = OLD.rowid;
END;
--> statement-breakpoint
-- The customers that exist already.
INSERT OR IGNORE INTO `search_scopes` (`account_id`, `testmode`) SELECT DISTINCT `account_id`, `testmode` FROM `customers`;
--> statement-breakpoint
INSERT INTO `customer_search` (`rowid`, `scope`, `email`, `name`, `metadata`)
  SELECT c.rowid, char(57344 + s.n % 6400, 57344 + (s.n / 6400) % 6400, 57344 + s.n / 40960000),
    char(31) || c.email || char(31),
    char(31) || coalesce(c.name, '') || char(31),
    (SELECT char(31) || group_concat(m.key || char(30) || m.value, char(31)) || char(31) FROM json_each(c.metadata) m)
  FROM `customers` c JOIN `search_scopes` s ON s.account_id = c.account_id AND s.testmode = c.testmode;
--> statement-breakpoint
-- Stored answers of resends kept under the event's id before 0007 (its erasure could not find them): under the
-- event's customer, as every answer holding a customer's data now is.
UPDATE `idempotency_keys` SET `resource_id` = (SELECT e.entity_id FROM `webhook_events` e WHERE e.id = `idempotency_keys`.`resource_id`)
  WHERE `resource_id` LIKE 'webhook\_event\_%' ESCAPE '\' AND EXISTS (SELECT 1 FROM `webhook_events` e WHERE e.id = `idempotency_keys`.`resource_id`);
