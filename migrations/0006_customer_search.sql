CREATE TABLE `customer_metadata` (
	`account_id` text NOT NULL,
	`testmode` integer NOT NULL,
	`key` text NOT NULL,
	`value` text NOT NULL,
	`customer_id` text NOT NULL,
	PRIMARY KEY(`account_id`, `testmode`, `key`, `value`, `customer_id`)
);

CREATE TABLE `customer_trigram_counts` (
	`account_id` text NOT NULL,
	`testmode` integer NOT NULL,
	`field` text NOT NULL,
	`trigram` text NOT NULL,
	`n` integer NOT NULL,
	PRIMARY KEY(`account_id`, `testmode`, `field`, `trigram`)
);

CREATE TABLE `customer_trigrams` (
	`account_id` text NOT NULL,
	`testmode` integer NOT NULL,
	`field` text NOT NULL,
	`trigram` text NOT NULL,
	`customer_id` text NOT NULL,
	PRIMARY KEY(`account_id`, `testmode`, `field`, `trigram`, `customer_id`)
);

CREATE TABLE `search_positions` (
	`n` integer PRIMARY KEY NOT NULL
);

CREATE INDEX `customers_scope_name` ON `customers` (`account_id`,`testmode`,`name`);
CREATE INDEX `customers_scope_created_at` ON `customers` (`account_id`,`testmode`,`created_at`);

INSERT INTO `search_positions` (`n`) SELECT value FROM json_each((SELECT json_group_array(x) FROM (
  SELECT a.value * 20 + b.value + 1 AS x FROM json_each('[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19]') a, json_each('[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19]') b)));

CREATE TRIGGER `search_customers_insert` AFTER INSERT ON `customers`
BEGIN
  INSERT OR IGNORE INTO `customer_trigrams` (`account_id`, `testmode`, `field`, `trigram`, `customer_id`)
    SELECT NEW.account_id, NEW.testmode, 'email', substr(lower(NEW.email), n, 3), NEW.id FROM `search_positions` WHERE n <= length(NEW.email) - 2;
  INSERT INTO `customer_trigram_counts` (`account_id`, `testmode`, `field`, `trigram`, `n`)
    SELECT NEW.account_id, NEW.testmode, 'email', t, 1 FROM (SELECT DISTINCT substr(lower(NEW.email), n, 3) AS t FROM `search_positions` WHERE n <= length(NEW.email) - 2) WHERE 1
    ON CONFLICT (`account_id`, `testmode`, `field`, `trigram`) DO UPDATE SET `n` = `n` + 1;
  INSERT OR IGNORE INTO `customer_trigrams` (`account_id`, `testmode`, `field`, `trigram`, `customer_id`)
    SELECT NEW.account_id, NEW.testmode, 'name', substr(lower(NEW.name), n, 3), NEW.id FROM `search_positions` WHERE n <= length(NEW.name) - 2;
  INSERT INTO `customer_trigram_counts` (`account_id`, `testmode`, `field`, `trigram`, `n`)
    SELECT NEW.account_id, NEW.testmode, 'name', t, 1 FROM (SELECT DISTINCT substr(lower(NEW.name), n, 3) AS t FROM `search_positions` WHERE n <= length(NEW.name) - 2) WHERE 1
    ON CONFLICT (`account_id`, `testmode`, `field`, `trigram`) DO UPDATE SET `n` = `n` + 1;
  INSERT OR IGNORE INTO `customer_metadata` (`account_id`, `testmode`, `key`, `value`, `customer_id`)
    SELECT NEW.account_id, NEW.testmode, `key`, `value`, NEW.id FROM json_each(NEW.metadata) WHERE `type` = 'text';
END;

CREATE TRIGGER `search_customers_update_email` AFTER UPDATE OF `email` ON `customers` WHEN OLD.email IS NOT NEW.email
BEGIN
  DELETE FROM `customer_trigrams` WHERE `account_id` = OLD.account_id AND `testmode` = OLD.testmode AND `field` = 'email' AND `customer_id` = OLD.id AND `trigram` IN (SELECT substr(lower(OLD.email), n, 3) FROM `search_positions` WHERE n <= length(OLD.email) - 2);
  UPDATE `customer_trigram_counts` SET `n` = `n` - 1 WHERE `account_id` = OLD.account_id AND `testmode` = OLD.testmode AND `field` = 'email' AND `trigram` IN (SELECT substr(lower(OLD.email), n, 3) FROM `search_positions` WHERE n <= length(OLD.email) - 2);
  DELETE FROM `customer_trigram_counts` WHERE `account_id` = OLD.account_id AND `testmode` = OLD.testmode AND `field` = 'email' AND `n` <= 0 AND `trigram` IN (SELECT substr(lower(OLD.email), n, 3) FROM `search_positions` WHERE n <= length(OLD.email) - 2);
  INSERT OR IGNORE INTO `customer_trigrams` (`account_id`, `testmode`, `field`, `trigram`, `customer_id`)
    SELECT NEW.account_id, NEW.testmode, 'email', substr(lower(NEW.email), n, 3), NEW.id FROM `search_positions` WHERE n <= length(NEW.email) - 2;
  INSERT INTO `customer_trigram_counts` (`account_id`, `testmode`, `field`, `trigram`, `n`)
    SELECT NEW.account_id, NEW.testmode, 'email', t, 1 FROM (SELECT DISTINCT substr(lower(NEW.email), n, 3) AS t FROM `search_positions` WHERE n <= length(NEW.email) - 2) WHERE 1
    ON CONFLICT (`account_id`, `testmode`, `field`, `trigram`) DO UPDATE SET `n` = `n` + 1;
END;

CREATE TRIGGER `search_customers_update_name` AFTER UPDATE OF `name` ON `customers` WHEN OLD.name IS NOT NEW.name
BEGIN
  DELETE FROM `customer_trigrams` WHERE `account_id` = OLD.account_id AND `testmode` = OLD.testmode AND `field` = 'name' AND `customer_id` = OLD.id AND `trigram` IN (SELECT substr(lower(OLD.name), n, 3) FROM `search_positions` WHERE n <= length(OLD.name) - 2);
  UPDATE `customer_trigram_counts` SET `n` = `n` - 1 WHERE `account_id` = OLD.account_id AND `testmode` = OLD.testmode AND `field` = 'name' AND `trigram` IN (SELECT substr(lower(OLD.name), n, 3) FROM `search_positions` WHERE n <= length(OLD.name) - 2);
  DELETE FROM `customer_trigram_counts` WHERE `account_id` = OLD.account_id AND `testmode` = OLD.testmode AND `field` = 'name' AND `n` <= 0 AND `trigram` IN (SELECT substr(lower(OLD.name), n, 3) FROM `search_positions` WHERE n <= length(OLD.name) - 2);
  INSERT OR IGNORE INTO `customer_trigrams` (`account_id`, `testmode`, `field`, `trigram`, `customer_id`)
    SELECT NEW.account_id, NEW.testmode, 'name', substr(lower(NEW.name), n, 3), NEW.id FROM `search_positions` WHERE n <= length(NEW.name) - 2;
  INSERT INTO `customer_trigram_counts` (`account_id`, `testmode`, `field`, `trigram`, `n`)
    SELECT NEW.account_id, NEW.testmode, 'name', t, 1 FROM (SELECT DISTINCT substr(lower(NEW.name), n, 3) AS t FROM `search_positions` WHERE n <= length(NEW.name) - 2) WHERE 1
    ON CONFLICT (`account_id`, `testmode`, `field`, `trigram`) DO UPDATE SET `n` = `n` + 1;
END;

CREATE TRIGGER `search_customers_update_metadata` AFTER UPDATE OF `metadata` ON `customers` WHEN OLD.metadata IS NOT NEW.metadata
BEGIN
  DELETE FROM `customer_metadata` WHERE `account_id` = OLD.account_id AND `testmode` = OLD.testmode AND `customer_id` = OLD.id
    AND (`key`, `value`) IN (SELECT `key`, `value` FROM json_each(OLD.metadata));
  INSERT OR IGNORE INTO `customer_metadata` (`account_id`, `testmode`, `key`, `value`, `customer_id`)
    SELECT NEW.account_id, NEW.testmode, `key`, `value`, NEW.id FROM json_each(NEW.metadata) WHERE `type` = 'text';
END;

CREATE TRIGGER `search_customers_delete` AFTER DELETE ON `customers`
BEGIN
  DELETE FROM `customer_trigrams` WHERE `account_id` = OLD.account_id AND `testmode` = OLD.testmode AND `field` = 'email' AND `customer_id` = OLD.id AND `trigram` IN (SELECT substr(lower(OLD.email), n, 3) FROM `search_positions` WHERE n <= length(OLD.email) - 2);
  UPDATE `customer_trigram_counts` SET `n` = `n` - 1 WHERE `account_id` = OLD.account_id AND `testmode` = OLD.testmode AND `field` = 'email' AND `trigram` IN (SELECT substr(lower(OLD.email), n, 3) FROM `search_positions` WHERE n <= length(OLD.email) - 2);
  DELETE FROM `customer_trigram_counts` WHERE `account_id` = OLD.account_id AND `testmode` = OLD.testmode AND `field` = 'email' AND `n` <= 0 AND `trigram` IN (SELECT substr(lower(OLD.email), n, 3) FROM `search_positions` WHERE n <= length(OLD.email) - 2);
  DELETE FROM `customer_trigrams` WHERE `account_id` = OLD.account_id AND `testmode` = OLD.testmode AND `field` = 'name' AND `customer_id` = OLD.id AND `trigram` IN (SELECT substr(lower(OLD.name), n, 3) FROM `search_positions` WHERE n <= length(OLD.name) - 2);
  UPDATE `customer_trigram_counts` SET `n` = `n` - 1 WHERE `account_id` = OLD.account_id AND `testmode` = OLD.testmode AND `field` = 'name' AND `trigram` IN (SELECT substr(lower(OLD.name), n, 3) FROM `search_positions` WHERE n <= length(OLD.name) - 2);
  DELETE FROM `customer_trigram_counts` WHERE `account_id` = OLD.account_id AND `testmode` = OLD.testmode AND `field` = 'name' AND `n` <= 0 AND `trigram` IN (SELECT substr(lower(OLD.name), n, 3) FROM `search_positions` WHERE n <= length(OLD.name) - 2);
  DELETE FROM `customer_metadata` WHERE `account_id` = OLD.account_id AND `testmode` = OLD.testmode AND `customer_id` = OLD.id
    AND (`key`, `value`) IN (SELECT `key`, `value` FROM json_each(OLD.metadata));
END;

INSERT OR IGNORE INTO `customer_trigrams` (`account_id`, `testmode`, `field`, `trigram`, `customer_id`)
  SELECT c.account_id, c.testmode, 'email', substr(lower(c.email), n, 3), c.id FROM `customers` c JOIN `search_positions` ON n <= length(c.email) - 2;

INSERT OR IGNORE INTO `customer_trigrams` (`account_id`, `testmode`, `field`, `trigram`, `customer_id`)
  SELECT c.account_id, c.testmode, 'name', substr(lower(c.name), n, 3), c.id FROM `customers` c JOIN `search_positions` ON n <= length(c.name) - 2;

INSERT INTO `customer_trigram_counts` (`account_id`, `testmode`, `field`, `trigram`, `n`)
  SELECT `account_id`, `testmode`, `field`, `trigram`, count(*) FROM `customer_trigrams` GROUP BY `account_id`, `testmode`, `field`, `trigram`;

INSERT OR IGNORE INTO `customer_metadata` (`account_id`, `testmode`, `key`, `value`, `customer_id`)
  SELECT c.account_id, c.testmode, m.key, m.value, c.id FROM `customers` c, json_each(c.metadata) m WHERE m.type = 'text';
