DROP TRIGGER IF EXISTS `search_customers_insert`;
DROP TRIGGER IF EXISTS `search_customers_update_email`;
DROP TRIGGER IF EXISTS `search_customers_update_name`;
DROP TRIGGER IF EXISTS `search_customers_update_metadata`;
DROP TRIGGER IF EXISTS `search_customers_delete`;
DROP TABLE IF EXISTS `customer_trigrams`;
DROP TABLE IF EXISTS `customer_trigram_counts`;
DROP TABLE IF EXISTS `customer_metadata`;
DROP TABLE IF EXISTS `search_positions`;

DROP INDEX IF EXISTS `customers_scope_name`;

CREATE INDEX `customers_scope_rowid` ON `customers` (`account_id`,`testmode`);

CREATE TABLE `search_scopes` (
	`n` integer PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`testmode` integer NOT NULL
);

CREATE UNIQUE INDEX `search_scopes_account` ON `search_scopes` (`account_id`,`testmode`);

CREATE VIRTUAL TABLE `customer_search` USING fts5(`scope`, `email`, `name`, `metadata`, tokenize = 'trigram case_sensitive 0', content = '', contentless_delete = 1, detail = none);

INSERT INTO `customer_search` (`customer_search`, `rank`) VALUES ('secure-delete', 1);

CREATE TRIGGER `search_customers_insert` AFTER INSERT ON `customers`
BEGIN
  INSERT INTO `search_scopes` (`account_id`, `testmode`) SELECT NEW.account_id, NEW.testmode
    WHERE NOT EXISTS (SELECT 1 FROM `search_scopes` WHERE `account_id` = NEW.account_id AND `testmode` = NEW.testmode);
  INSERT INTO `customer_search` (`rowid`, `scope`, `email`, `name`, `metadata`)
    SELECT NEW.rowid, char(57344 + s.n % 6400, 57344 + (s.n / 6400) % 6400, 57344 + s.n / 40960000),
      char(31) || NEW.email || char(31),
      char(31) || coalesce(NEW.name, '') || char(31),
      (SELECT char(31) || group_concat(m.key || char(30) || m.value, char(31)) || char(31) FROM json_each(NEW.metadata) m)
    FROM `search_scopes` s WHERE s.account_id = NEW.account_id AND s.testmode = NEW.testmode;
END;

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

CREATE TRIGGER `search_customers_delete` AFTER DELETE ON `customers`
BEGIN
  DELETE FROM `customer_search` WHERE `rowid` = OLD.rowid;
END;

INSERT OR IGNORE INTO `search_scopes` (`account_id`, `testmode`) SELECT DISTINCT `account_id`, `testmode` FROM `customers`;

INSERT INTO `customer_search` (`rowid`, `scope`, `email`, `name`, `metadata`)
  SELECT c.rowid, char(57344 + s.n % 6400, 57344 + (s.n / 6400) % 6400, 57344 + s.n / 40960000),
    char(31) || c.email || char(31),
    char(31) || coalesce(c.name, '') || char(31),
    (SELECT char(31) || group_concat(m.key || char(30) || m.value, char(31)) || char(31) FROM json_each(c.metadata) m)
  FROM `customers` c JOIN `search_scopes` s ON s.account_id = c.account_id AND s.testmode = c.testmode;

UPDATE `idempotency_keys` SET `resource_id` = (SELECT e.entity_id FROM `webhook_events` e WHERE e.id = `idempotency_keys`.`resource_id`)
  WHERE `resource_id` LIKE 'webhook\_event\_%' ESCAPE '\' AND EXISTS (SELECT 1 FROM `webhook_events` e WHERE e.id = `idempotency_keys`.`resource_id`);
