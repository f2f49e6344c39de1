DROP TRIGGER IF EXISTS `search_customers_insert`;
DROP TRIGGER IF EXISTS `search_customers_update`;
DROP TRIGGER IF EXISTS `search_customers_delete`;
DROP TABLE IF EXISTS `customer_search`;

CREATE VIRTUAL TABLE `customer_search` USING fts5(`email`, `name`, `metadata`, tokenize = 'trigram case_sensitive 0', content = '', contentless_delete = 1, detail = none);

INSERT INTO `customer_search` (`customer_search`, `rank`) VALUES ('secure-delete', 1);

CREATE TABLE `search_backfill` (
	`id` integer PRIMARY KEY NOT NULL CHECK (`id` = 1),
	`below` integer NOT NULL
);

INSERT INTO `search_backfill` (`id`, `below`) SELECT 1, max(`rowid`) + 1 FROM `customers` HAVING count(*) > 0;

CREATE TRIGGER `search_customers_insert` AFTER INSERT ON `customers`
BEGIN
  INSERT INTO `search_scopes` (`account_id`, `testmode`) SELECT NEW.account_id, NEW.testmode
    WHERE NOT EXISTS (SELECT 1 FROM `search_scopes` WHERE `account_id` = NEW.account_id AND `testmode` = NEW.testmode);
  INSERT INTO `customer_search` (`rowid`, `email`, `name`, `metadata`)
    SELECT s.n * 1099511627776 + NEW.rowid,
      char(31) || NEW.email || char(31),
      char(31) || coalesce(NEW.name, '') || char(31),
      (SELECT char(31) || group_concat(m.key || char(30) || m.value, char(31)) || char(31) FROM json_each(NEW.metadata) m)
    FROM `search_scopes` s WHERE s.account_id = NEW.account_id AND s.testmode = NEW.testmode
      AND NEW.rowid >= coalesce((SELECT `below` FROM `search_backfill`), 0);
END;

CREATE TRIGGER `search_customers_update` AFTER UPDATE OF `email`, `name`, `metadata` ON `customers`
  WHEN (OLD.email IS NOT NEW.email OR OLD.name IS NOT NEW.name OR OLD.metadata IS NOT NEW.metadata)
    AND OLD.rowid >= coalesce((SELECT `below` FROM `search_backfill`), 0)
BEGIN
  DELETE FROM `customer_search` WHERE `rowid` = (SELECT s.n * 1099511627776 + OLD.rowid FROM `search_scopes` s WHERE s.account_id = OLD.account_id AND s.testmode = OLD.testmode);
  INSERT INTO `customer_search` (`rowid`, `email`, `name`, `metadata`)
    SELECT s.n * 1099511627776 + NEW.rowid,
      char(31) || NEW.email || char(31),
      char(31) || coalesce(NEW.name, '') || char(31),
      (SELECT char(31) || group_concat(m.key || char(30) || m.value, char(31)) || char(31) FROM json_each(NEW.metadata) m)
    FROM `search_scopes` s WHERE s.account_id = NEW.account_id AND s.testmode = NEW.testmode;
END;

CREATE TRIGGER `search_customers_delete` AFTER DELETE ON `customers`
  WHEN OLD.rowid >= coalesce((SELECT `below` FROM `search_backfill`), 0)
BEGIN
  DELETE FROM `customer_search` WHERE `rowid` = (SELECT s.n * 1099511627776 + OLD.rowid FROM `search_scopes` s WHERE s.account_id = OLD.account_id AND s.testmode = OLD.testmode);
END;
