CREATE TABLE `account_changes` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`account_id` text NOT NULL,
	`table_name` text NOT NULL,
	`pk` text NOT NULL
);

CREATE INDEX `account_changes_account_seq` ON `account_changes` (`account_id`,`seq`);
CREATE TABLE `account_moves` (
	`account_id` text PRIMARY KEY NOT NULL,
	`target_shard` integer NOT NULL,
	`state` text NOT NULL,
	`phase` text NOT NULL,
	`copied` integer DEFAULT 0 NOT NULL,
	`total` integer DEFAULT 0 NOT NULL,
	`cursor` text DEFAULT '[0,null]' NOT NULL,
	`applied_seq` integer DEFAULT 0 NOT NULL,
	`started_at` integer NOT NULL,
	`cutover_at` integer,
	`moved_at` integer,
	`finished_at` integer
);

CREATE INDEX `customer_tombstones_scope_id` ON `customer_tombstones` (`account_id`,`testmode`,`id`);

CREATE TRIGGER `move_customers_insert` BEFORE INSERT ON `customers`
WHEN EXISTS (SELECT 1 FROM `account_moves` WHERE `account_id` = NEW.account_id)
BEGIN
  SELECT RAISE(ABORT, 'ACCOUNT_MOVED') WHERE EXISTS (SELECT 1 FROM `account_moves` WHERE `account_id` = NEW.account_id AND `state` IN ('cutover', 'moved'));
  INSERT INTO `account_changes` (`account_id`, `table_name`, `pk`) SELECT NEW.account_id, 'customers', json_array(NEW.id) WHERE EXISTS (SELECT 1 FROM `account_moves` WHERE `account_id` = NEW.account_id AND `state` = 'copying');
END;

CREATE TRIGGER `move_customers_update` BEFORE UPDATE ON `customers`
WHEN EXISTS (SELECT 1 FROM `account_moves` WHERE `account_id` = NEW.account_id)
BEGIN
  SELECT RAISE(ABORT, 'ACCOUNT_MOVED') WHERE EXISTS (SELECT 1 FROM `account_moves` WHERE `account_id` = NEW.account_id AND `state` IN ('cutover', 'moved'));
  INSERT INTO `account_changes` (`account_id`, `table_name`, `pk`) SELECT NEW.account_id, 'customers', json_array(NEW.id) WHERE EXISTS (SELECT 1 FROM `account_moves` WHERE `account_id` = NEW.account_id AND `state` = 'copying');
END;

CREATE TRIGGER `move_customers_delete` BEFORE DELETE ON `customers`
WHEN EXISTS (SELECT 1 FROM `account_moves` WHERE `account_id` = OLD.account_id)
BEGIN
  SELECT RAISE(ABORT, 'ACCOUNT_MOVED') WHERE EXISTS (SELECT 1 FROM `account_moves` WHERE `account_id` = OLD.account_id AND `state` IN ('cutover'));
  INSERT INTO `account_changes` (`account_id`, `table_name`, `pk`) SELECT OLD.account_id, 'customers', json_array(OLD.id) WHERE EXISTS (SELECT 1 FROM `account_moves` WHERE `account_id` = OLD.account_id AND `state` = 'copying');
END;

CREATE TRIGGER `move_customer_tombstones_insert` BEFORE INSERT ON `customer_tombstones`
WHEN EXISTS (SELECT 1 FROM `account_moves` WHERE `account_id` = NEW.account_id)
BEGIN
  SELECT RAISE(ABORT, 'ACCOUNT_MOVED') WHERE EXISTS (SELECT 1 FROM `account_moves` WHERE `account_id` = NEW.account_id AND `state` IN ('cutover', 'moved'));
  INSERT INTO `account_changes` (`account_id`, `table_name`, `pk`) SELECT NEW.account_id, 'customer_tombstones', json_array(NEW.id) WHERE EXISTS (SELECT 1 FROM `account_moves` WHERE `account_id` = NEW.account_id AND `state` = 'copying');
END;

CREATE TRIGGER `move_customer_tombstones_update` BEFORE UPDATE ON `customer_tombstones`
WHEN EXISTS (SELECT 1 FROM `account_moves` WHERE `account_id` = NEW.account_id)
BEGIN
  SELECT RAISE(ABORT, 'ACCOUNT_MOVED') WHERE EXISTS (SELECT 1 FROM `account_moves` WHERE `account_id` = NEW.account_id AND `state` IN ('cutover', 'moved'));
  INSERT INTO `account_changes` (`account_id`, `table_name`, `pk`) SELECT NEW.account_id, 'customer_tombstones', json_array(NEW.id) WHERE EXISTS (SELECT 1 FROM `account_moves` WHERE `account_id` = NEW.account_id AND `state` = 'copying');
END;

CREATE TRIGGER `move_customer_tombstones_delete` BEFORE DELETE ON `customer_tombstones`
WHEN EXISTS (SELECT 1 FROM `account_moves` WHERE `account_id` = OLD.account_id)
BEGIN
  SELECT RAISE(ABORT, 'ACCOUNT_MOVED') WHERE EXISTS (SELECT 1 FROM `account_moves` WHERE `account_id` = OLD.account_id AND `state` IN ('cutover'));
  INSERT INTO `account_changes` (`account_id`, `table_name`, `pk`) SELECT OLD.account_id, 'customer_tombstones', json_array(OLD.id) WHERE EXISTS (SELECT 1 FROM `account_moves` WHERE `account_id` = OLD.account_id AND `state` = 'copying');
END;

CREATE TRIGGER `move_idempotency_keys_insert` BEFORE INSERT ON `idempotency_keys`
WHEN EXISTS (SELECT 1 FROM `account_moves` WHERE `account_id` = NEW.account_id)
BEGIN
  SELECT RAISE(ABORT, 'ACCOUNT_MOVED') WHERE EXISTS (SELECT 1 FROM `account_moves` WHERE `account_id` = NEW.account_id AND `state` IN ('cutover', 'moved'));
  INSERT INTO `account_changes` (`account_id`, `table_name`, `pk`) SELECT NEW.account_id, 'idempotency_keys', json_array(NEW.testmode, NEW.key) WHERE EXISTS (SELECT 1 FROM `account_moves` WHERE `account_id` = NEW.account_id AND `state` = 'copying');
END;

CREATE TRIGGER `move_idempotency_keys_update` BEFORE UPDATE ON `idempotency_keys`
WHEN EXISTS (SELECT 1 FROM `account_moves` WHERE `account_id` = NEW.account_id)
BEGIN
  SELECT RAISE(ABORT, 'ACCOUNT_MOVED') WHERE EXISTS (SELECT 1 FROM `account_moves` WHERE `account_id` = NEW.account_id AND `state` IN ('cutover', 'moved'));
  INSERT INTO `account_changes` (`account_id`, `table_name`, `pk`) SELECT NEW.account_id, 'idempotency_keys', json_array(NEW.testmode, NEW.key) WHERE EXISTS (SELECT 1 FROM `account_moves` WHERE `account_id` = NEW.account_id AND `state` = 'copying');
END;

CREATE TRIGGER `move_idempotency_keys_delete` BEFORE DELETE ON `idempotency_keys`
WHEN EXISTS (SELECT 1 FROM `account_moves` WHERE `account_id` = OLD.account_id)
BEGIN
  SELECT RAISE(ABORT, 'ACCOUNT_MOVED') WHERE EXISTS (SELECT 1 FROM `account_moves` WHERE `account_id` = OLD.account_id AND `state` IN ('cutover'));
  INSERT INTO `account_changes` (`account_id`, `table_name`, `pk`) SELECT OLD.account_id, 'idempotency_keys', json_array(OLD.testmode, OLD.key) WHERE EXISTS (SELECT 1 FROM `account_moves` WHERE `account_id` = OLD.account_id AND `state` = 'copying');
END;

CREATE TRIGGER `move_webhook_endpoints_insert` BEFORE INSERT ON `webhook_endpoints`
WHEN EXISTS (SELECT 1 FROM `account_moves` WHERE `account_id` = NEW.account_id)
BEGIN
  SELECT RAISE(ABORT, 'ACCOUNT_MOVED') WHERE EXISTS (SELECT 1 FROM `account_moves` WHERE `account_id` = NEW.account_id AND `state` IN ('cutover', 'moved'));
  INSERT INTO `account_changes` (`account_id`, `table_name`, `pk`) SELECT NEW.account_id, 'webhook_endpoints', json_array(NEW.id) WHERE EXISTS (SELECT 1 FROM `account_moves` WHERE `account_id` = NEW.account_id AND `state` = 'copying');
END;

CREATE TRIGGER `move_webhook_endpoints_update` BEFORE UPDATE ON `webhook_endpoints`
WHEN EXISTS (SELECT 1 FROM `account_moves` WHERE `account_id` = NEW.account_id)
BEGIN
  SELECT RAISE(ABORT, 'ACCOUNT_MOVED') WHERE EXISTS (SELECT 1 FROM `account_moves` WHERE `account_id` = NEW.account_id AND `state` IN ('cutover', 'moved'));
  INSERT INTO `account_changes` (`account_id`, `table_name`, `pk`) SELECT NEW.account_id, 'webhook_endpoints', json_array(NEW.id) WHERE EXISTS (SELECT 1 FROM `account_moves` WHERE `account_id` = NEW.account_id AND `state` = 'copying');
END;

CREATE TRIGGER `move_webhook_endpoints_delete` BEFORE DELETE ON `webhook_endpoints`
WHEN EXISTS (SELECT 1 FROM `account_moves` WHERE `account_id` = OLD.account_id)
BEGIN
  SELECT RAISE(ABORT, 'ACCOUNT_MOVED') WHERE EXISTS (SELECT 1 FROM `account_moves` WHERE `account_id` = OLD.account_id AND `state` IN ('cutover'));
  INSERT INTO `account_changes` (`account_id`, `table_name`, `pk`) SELECT OLD.account_id, 'webhook_endpoints', json_array(OLD.id) WHERE EXISTS (SELECT 1 FROM `account_moves` WHERE `account_id` = OLD.account_id AND `state` = 'copying');
END;

CREATE TRIGGER `move_webhook_events_insert` BEFORE INSERT ON `webhook_events`
WHEN EXISTS (SELECT 1 FROM `account_moves` WHERE `account_id` = NEW.account_id)
BEGIN
  SELECT RAISE(ABORT, 'ACCOUNT_MOVED') WHERE EXISTS (SELECT 1 FROM `account_moves` WHERE `account_id` = NEW.account_id AND `state` IN ('cutover', 'moved'));
  INSERT INTO `account_changes` (`account_id`, `table_name`, `pk`) SELECT NEW.account_id, 'webhook_events', json_array(NEW.id) WHERE EXISTS (SELECT 1 FROM `account_moves` WHERE `account_id` = NEW.account_id AND `state` = 'copying');
END;

CREATE TRIGGER `move_webhook_events_update` BEFORE UPDATE ON `webhook_events`
WHEN EXISTS (SELECT 1 FROM `account_moves` WHERE `account_id` = NEW.account_id)
BEGIN
  SELECT RAISE(ABORT, 'ACCOUNT_MOVED') WHERE EXISTS (SELECT 1 FROM `account_moves` WHERE `account_id` = NEW.account_id AND `state` IN ('cutover', 'moved'));
  INSERT INTO `account_changes` (`account_id`, `table_name`, `pk`) SELECT NEW.account_id, 'webhook_events', json_array(NEW.id) WHERE EXISTS (SELECT 1 FROM `account_moves` WHERE `account_id` = NEW.account_id AND `state` = 'copying');
END;

CREATE TRIGGER `move_webhook_events_delete` BEFORE DELETE ON `webhook_events`
WHEN EXISTS (SELECT 1 FROM `account_moves` WHERE `account_id` = OLD.account_id)
BEGIN
  SELECT RAISE(ABORT, 'ACCOUNT_MOVED') WHERE EXISTS (SELECT 1 FROM `account_moves` WHERE `account_id` = OLD.account_id AND `state` IN ('cutover'));
  INSERT INTO `account_changes` (`account_id`, `table_name`, `pk`) SELECT OLD.account_id, 'webhook_events', json_array(OLD.id) WHERE EXISTS (SELECT 1 FROM `account_moves` WHERE `account_id` = OLD.account_id AND `state` = 'copying');
END;

CREATE TRIGGER `move_webhook_attempts_insert` BEFORE INSERT ON `webhook_attempts`
WHEN EXISTS (SELECT 1 FROM `account_moves` WHERE `account_id` = (SELECT account_id FROM webhook_events WHERE id = NEW.event_id))
BEGIN
  SELECT RAISE(ABORT, 'ACCOUNT_MOVED') WHERE EXISTS (SELECT 1 FROM `account_moves` WHERE `account_id` = (SELECT account_id FROM webhook_events WHERE id = NEW.event_id) AND `state` IN ('cutover', 'moved'));
  INSERT INTO `account_changes` (`account_id`, `table_name`, `pk`) SELECT (SELECT account_id FROM webhook_events WHERE id = NEW.event_id), 'webhook_attempts', json_array(NEW.event_id, NEW.attempt) WHERE EXISTS (SELECT 1 FROM `account_moves` WHERE `account_id` = (SELECT account_id FROM webhook_events WHERE id = NEW.event_id) AND `state` = 'copying');
END;

CREATE TRIGGER `move_webhook_attempts_update` BEFORE UPDATE ON `webhook_attempts`
WHEN EXISTS (SELECT 1 FROM `account_moves` WHERE `account_id` = (SELECT account_id FROM webhook_events WHERE id = NEW.event_id))
BEGIN
  SELECT RAISE(ABORT, 'ACCOUNT_MOVED') WHERE EXISTS (SELECT 1 FROM `account_moves` WHERE `account_id` = (SELECT account_id FROM webhook_events WHERE id = NEW.event_id) AND `state` IN ('cutover', 'moved'));
  INSERT INTO `account_changes` (`account_id`, `table_name`, `pk`) SELECT (SELECT account_id FROM webhook_events WHERE id = NEW.event_id), 'webhook_attempts', json_array(NEW.event_id, NEW.attempt) WHERE EXISTS (SELECT 1 FROM `account_moves` WHERE `account_id` = (SELECT account_id FROM webhook_events WHERE id = NEW.event_id) AND `state` = 'copying');
END;

CREATE TRIGGER `move_webhook_attempts_delete` BEFORE DELETE ON `webhook_attempts`
WHEN EXISTS (SELECT 1 FROM `account_moves` WHERE `account_id` = (SELECT account_id FROM webhook_events WHERE id = OLD.event_id))
BEGIN
  SELECT RAISE(ABORT, 'ACCOUNT_MOVED') WHERE EXISTS (SELECT 1 FROM `account_moves` WHERE `account_id` = (SELECT account_id FROM webhook_events WHERE id = OLD.event_id) AND `state` IN ('cutover'));
  INSERT INTO `account_changes` (`account_id`, `table_name`, `pk`) SELECT (SELECT account_id FROM webhook_events WHERE id = OLD.event_id), 'webhook_attempts', json_array(OLD.event_id, OLD.attempt) WHERE EXISTS (SELECT 1 FROM `account_moves` WHERE `account_id` = (SELECT account_id FROM webhook_events WHERE id = OLD.event_id) AND `state` = 'copying');
END;
