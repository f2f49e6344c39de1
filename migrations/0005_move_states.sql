ALTER TABLE `account_moves` ADD `source_shard` integer;
ALTER TABLE `account_moves` ADD `move_id` text DEFAULT '' NOT NULL;
ALTER TABLE `account_moves` ADD `owner` text DEFAULT '' NOT NULL;
ALTER TABLE `account_moves` ADD `heartbeat_at` integer DEFAULT 0 NOT NULL;
ALTER TABLE `account_moves` ADD `lease_until` integer DEFAULT 0 NOT NULL;
ALTER TABLE `account_moves` ADD `verified_seq` integer;
ALTER TABLE `account_moves` ADD `repaired` integer DEFAULT 0 NOT NULL;
ALTER TABLE `account_moves` ADD `copied_at` integer;
ALTER TABLE `account_moves` ADD `prior_state` text;

CREATE VIEW `account_move_rules` AS SELECT `account_id`,
  `state` IN ('moved', 'incoming') OR (`state` = 'cutover' AND `lease_until` > unixepoch('subsec') * 1000) AS `refuse_write`,
  `state` = 'incoming' OR (`state` = 'cutover' AND `lease_until` > unixepoch('subsec') * 1000) AS `refuse_delete`,
  `state` = 'copying' OR (`state` = 'cutover' AND `lease_until` <= unixepoch('subsec') * 1000) AS `log`
FROM `account_moves`;

DROP TRIGGER `move_customers_insert`;

CREATE TRIGGER `move_customers_insert` BEFORE INSERT ON `customers`
WHEN EXISTS (SELECT 1 FROM `account_moves` WHERE `account_id` = NEW.account_id)
BEGIN
  SELECT RAISE(ABORT, 'ACCOUNT_MOVED') WHERE EXISTS (SELECT 1 FROM `account_move_rules` WHERE `account_id` = NEW.account_id AND `refuse_write`);
  INSERT INTO `account_changes` (`account_id`, `table_name`, `pk`) SELECT NEW.account_id, 'customers', json_array(NEW.id) WHERE EXISTS (SELECT 1 FROM `account_move_rules` WHERE `account_id` = NEW.account_id AND `log`);
END;

DROP TRIGGER `move_customers_update`;

CREATE TRIGGER `move_customers_update` BEFORE UPDATE ON `customers`
WHEN EXISTS (SELECT 1 FROM `account_moves` WHERE `account_id` = NEW.account_id)
BEGIN
  SELECT RAISE(ABORT, 'ACCOUNT_MOVED') WHERE EXISTS (SELECT 1 FROM `account_move_rules` WHERE `account_id` = NEW.account_id AND `refuse_write`);
  INSERT INTO `account_changes` (`account_id`, `table_name`, `pk`) SELECT NEW.account_id, 'customers', json_array(NEW.id) WHERE EXISTS (SELECT 1 FROM `account_move_rules` WHERE `account_id` = NEW.account_id AND `log`);
END;

DROP TRIGGER `move_customers_delete`;

CREATE TRIGGER `move_customers_delete` BEFORE DELETE ON `customers`
WHEN EXISTS (SELECT 1 FROM `account_moves` WHERE `account_id` = OLD.account_id)
BEGIN
  SELECT RAISE(ABORT, 'ACCOUNT_MOVED') WHERE EXISTS (SELECT 1 FROM `account_move_rules` WHERE `account_id` = OLD.account_id AND `refuse_delete`);
  INSERT INTO `account_changes` (`account_id`, `table_name`, `pk`) SELECT OLD.account_id, 'customers', json_array(OLD.id) WHERE EXISTS (SELECT 1 FROM `account_move_rules` WHERE `account_id` = OLD.account_id AND `log`);
END;

DROP TRIGGER `move_customer_tombstones_insert`;

CREATE TRIGGER `move_customer_tombstones_insert` BEFORE INSERT ON `customer_tombstones`
WHEN EXISTS (SELECT 1 FROM `account_moves` WHERE `account_id` = NEW.account_id)
BEGIN
  SELECT RAISE(ABORT, 'ACCOUNT_MOVED') WHERE EXISTS (SELECT 1 FROM `account_move_rules` WHERE `account_id` = NEW.account_id AND `refuse_write`);
  INSERT INTO `account_changes` (`account_id`, `table_name`, `pk`) SELECT NEW.account_id, 'customer_tombstones', json_array(NEW.id) WHERE EXISTS (SELECT 1 FROM `account_move_rules` WHERE `account_id` = NEW.account_id AND `log`);
END;

DROP TRIGGER `move_customer_tombstones_update`;

CREATE TRIGGER `move_customer_tombstones_update` BEFORE UPDATE ON `customer_tombstones`
WHEN EXISTS (SELECT 1 FROM `account_moves` WHERE `account_id` = NEW.account_id)
BEGIN
  SELECT RAISE(ABORT, 'ACCOUNT_MOVED') WHERE EXISTS (SELECT 1 FROM `account_move_rules` WHERE `account_id` = NEW.account_id AND `refuse_write`);
  INSERT INTO `account_changes` (`account_id`, `table_name`, `pk`) SELECT NEW.account_id, 'customer_tombstones', json_array(NEW.id) WHERE EXISTS (SELECT 1 FROM `account_move_rules` WHERE `account_id` = NEW.account_id AND `log`);
END;

DROP TRIGGER `move_customer_tombstones_delete`;

CREATE TRIGGER `move_customer_tombstones_delete` BEFORE DELETE ON `customer_tombstones`
WHEN EXISTS (SELECT 1 FROM `account_moves` WHERE `account_id` = OLD.account_id)
BEGIN
  SELECT RAISE(ABORT, 'ACCOUNT_MOVED') WHERE EXISTS (SELECT 1 FROM `account_move_rules` WHERE `account_id` = OLD.account_id AND `refuse_delete`);
  INSERT INTO `account_changes` (`account_id`, `table_name`, `pk`) SELECT OLD.account_id, 'customer_tombstones', json_array(OLD.id) WHERE EXISTS (SELECT 1 FROM `account_move_rules` WHERE `account_id` = OLD.account_id AND `log`);
END;

DROP TRIGGER `move_idempotency_keys_insert`;

CREATE TRIGGER `move_idempotency_keys_insert` BEFORE INSERT ON `idempotency_keys`
WHEN EXISTS (SELECT 1 FROM `account_moves` WHERE `account_id` = NEW.account_id)
BEGIN
  SELECT RAISE(ABORT, 'ACCOUNT_MOVED') WHERE EXISTS (SELECT 1 FROM `account_move_rules` WHERE `account_id` = NEW.account_id AND `refuse_write`);
  INSERT INTO `account_changes` (`account_id`, `table_name`, `pk`) SELECT NEW.account_id, 'idempotency_keys', json_array(NEW.testmode, NEW.key) WHERE EXISTS (SELECT 1 FROM `account_move_rules` WHERE `account_id` = NEW.account_id AND `log`);
END;

DROP TRIGGER `move_idempotency_keys_update`;

CREATE TRIGGER `move_idempotency_keys_update` BEFORE UPDATE ON `idempotency_keys`
WHEN EXISTS (SELECT 1 FROM `account_moves` WHERE `account_id` = NEW.account_id)
BEGIN
  SELECT RAISE(ABORT, 'ACCOUNT_MOVED') WHERE EXISTS (SELECT 1 FROM `account_move_rules` WHERE `account_id` = NEW.account_id AND `refuse_write`);
  INSERT INTO `account_changes` (`account_id`, `table_name`, `pk`) SELECT NEW.account_id, 'idempotency_keys', json_array(NEW.testmode, NEW.key) WHERE EXISTS (SELECT 1 FROM `account_move_rules` WHERE `account_id` = NEW.account_id AND `log`);
END;

DROP TRIGGER `move_idempotency_keys_delete`;

CREATE TRIGGER `move_idempotency_keys_delete` BEFORE DELETE ON `idempotency_keys`
WHEN EXISTS (SELECT 1 FROM `account_moves` WHERE `account_id` = OLD.account_id)
BEGIN
  SELECT RAISE(ABORT, 'ACCOUNT_MOVED') WHERE EXISTS (SELECT 1 FROM `account_move_rules` WHERE `account_id` = OLD.account_id AND `refuse_delete`);
  INSERT INTO `account_changes` (`account_id`, `table_name`, `pk`) SELECT OLD.account_id, 'idempotency_keys', json_array(OLD.testmode, OLD.key) WHERE EXISTS (SELECT 1 FROM `account_move_rules` WHERE `account_id` = OLD.account_id AND `log`);
END;

DROP TRIGGER `move_webhook_endpoints_insert`;

CREATE TRIGGER `move_webhook_endpoints_insert` BEFORE INSERT ON `webhook_endpoints`
WHEN EXISTS (SELECT 1 FROM `account_moves` WHERE `account_id` = NEW.account_id)
BEGIN
  SELECT RAISE(ABORT, 'ACCOUNT_MOVED') WHERE EXISTS (SELECT 1 FROM `account_move_rules` WHERE `account_id` = NEW.account_id AND `refuse_write`);
  INSERT INTO `account_changes` (`account_id`, `table_name`, `pk`) SELECT NEW.account_id, 'webhook_endpoints', json_array(NEW.id) WHERE EXISTS (SELECT 1 FROM `account_move_rules` WHERE `account_id` = NEW.account_id AND `log`);
END;

DROP TRIGGER `move_webhook_endpoints_update`;

CREATE TRIGGER `move_webhook_endpoints_update` BEFORE UPDATE ON `webhook_endpoints`
WHEN EXISTS (SELECT 1 FROM `account_moves` WHERE `account_id` = NEW.account_id)
BEGIN
  SELECT RAISE(ABORT, 'ACCOUNT_MOVED') WHERE EXISTS (SELECT 1 FROM `account_move_rules` WHERE `account_id` = NEW.account_id AND `refuse_write`);
  INSERT INTO `account_changes` (`account_id`, `table_name`, `pk`) SELECT NEW.account_id, 'webhook_endpoints', json_array(NEW.id) WHERE EXISTS (SELECT 1 FROM `account_move_rules` WHERE `account_id` = NEW.account_id AND `log`);
END;

DROP TRIGGER `move_webhook_endpoints_delete`;

CREATE TRIGGER `move_webhook_endpoints_delete` BEFORE DELETE ON `webhook_endpoints`
WHEN EXISTS (SELECT 1 FROM `account_moves` WHERE `account_id` = OLD.account_id)
BEGIN
  SELECT RAISE(ABORT, 'ACCOUNT_MOVED') WHERE EXISTS (SELECT 1 FROM `account_move_rules` WHERE `account_id` = OLD.account_id AND `refuse_delete`);
  INSERT INTO `account_changes` (`account_id`, `table_name`, `pk`) SELECT OLD.account_id, 'webhook_endpoints', json_array(OLD.id) WHERE EXISTS (SELECT 1 FROM `account_move_rules` WHERE `account_id` = OLD.account_id AND `log`);
END;

DROP TRIGGER `move_webhook_events_insert`;

CREATE TRIGGER `move_webhook_events_insert` BEFORE INSERT ON `webhook_events`
WHEN EXISTS (SELECT 1 FROM `account_moves` WHERE `account_id` = NEW.account_id)
BEGIN
  SELECT RAISE(ABORT, 'ACCOUNT_MOVED') WHERE EXISTS (SELECT 1 FROM `account_move_rules` WHERE `account_id` = NEW.account_id AND `refuse_write`);
  INSERT INTO `account_changes` (`account_id`, `table_name`, `pk`) SELECT NEW.account_id, 'webhook_events', json_array(NEW.id) WHERE EXISTS (SELECT 1 FROM `account_move_rules` WHERE `account_id` = NEW.account_id AND `log`);
END;

DROP TRIGGER `move_webhook_events_update`;

CREATE TRIGGER `move_webhook_events_update` BEFORE UPDATE ON `webhook_events`
WHEN EXISTS (SELECT 1 FROM `account_moves` WHERE `account_id` = NEW.account_id)
BEGIN
  SELECT RAISE(ABORT, 'ACCOUNT_MOVED') WHERE EXISTS (SELECT 1 FROM `account_move_rules` WHERE `account_id` = NEW.account_id AND `refuse_write`);
  INSERT INTO `account_changes` (`account_id`, `table_name`, `pk`) SELECT NEW.account_id, 'webhook_events', json_array(NEW.id) WHERE EXISTS (SELECT 1 FROM `account_move_rules` WHERE `account_id` = NEW.account_id AND `log`);
END;

DROP TRIGGER `move_webhook_events_delete`;

CREATE TRIGGER `move_webhook_events_delete` BEFORE DELETE ON `webhook_events`
WHEN EXISTS (SELECT 1 FROM `account_moves` WHERE `account_id` = OLD.account_id)
BEGIN
  SELECT RAISE(ABORT, 'ACCOUNT_MOVED') WHERE EXISTS (SELECT 1 FROM `account_move_rules` WHERE `account_id` = OLD.account_id AND `refuse_delete`);
  INSERT INTO `account_changes` (`account_id`, `table_name`, `pk`) SELECT OLD.account_id, 'webhook_events', json_array(OLD.id) WHERE EXISTS (SELECT 1 FROM `account_move_rules` WHERE `account_id` = OLD.account_id AND `log`);
END;

DROP TRIGGER `move_webhook_attempts_insert`;

CREATE TRIGGER `move_webhook_attempts_insert` BEFORE INSERT ON `webhook_attempts`
WHEN EXISTS (SELECT 1 FROM `account_moves` WHERE `account_id` = (SELECT account_id FROM webhook_events WHERE id = NEW.event_id))
BEGIN
  SELECT RAISE(ABORT, 'ACCOUNT_MOVED') WHERE EXISTS (SELECT 1 FROM `account_move_rules` WHERE `account_id` = (SELECT account_id FROM webhook_events WHERE id = NEW.event_id) AND `refuse_write`);
  INSERT INTO `account_changes` (`account_id`, `table_name`, `pk`) SELECT (SELECT account_id FROM webhook_events WHERE id = NEW.event_id), 'webhook_attempts', json_array(NEW.event_id, NEW.attempt) WHERE EXISTS (SELECT 1 FROM `account_move_rules` WHERE `account_id` = (SELECT account_id FROM webhook_events WHERE id = NEW.event_id) AND `log`);
END;

DROP TRIGGER `move_webhook_attempts_update`;

CREATE TRIGGER `move_webhook_attempts_update` BEFORE UPDATE ON `webhook_attempts`
WHEN EXISTS (SELECT 1 FROM `account_moves` WHERE `account_id` = (SELECT account_id FROM webhook_events WHERE id = NEW.event_id))
BEGIN
  SELECT RAISE(ABORT, 'ACCOUNT_MOVED') WHERE EXISTS (SELECT 1 FROM `account_move_rules` WHERE `account_id` = (SELECT account_id FROM webhook_events WHERE id = NEW.event_id) AND `refuse_write`);
  INSERT INTO `account_changes` (`account_id`, `table_name`, `pk`) SELECT (SELECT account_id FROM webhook_events WHERE id = NEW.event_id), 'webhook_attempts', json_array(NEW.event_id, NEW.attempt) WHERE EXISTS (SELECT 1 FROM `account_move_rules` WHERE `account_id` = (SELECT account_id FROM webhook_events WHERE id = NEW.event_id) AND `log`);
END;

DROP TRIGGER `move_webhook_attempts_delete`;

CREATE TRIGGER `move_webhook_attempts_delete` BEFORE DELETE ON `webhook_attempts`
WHEN EXISTS (SELECT 1 FROM `account_moves` WHERE `account_id` = (SELECT account_id FROM webhook_events WHERE id = OLD.event_id))
BEGIN
  SELECT RAISE(ABORT, 'ACCOUNT_MOVED') WHERE EXISTS (SELECT 1 FROM `account_move_rules` WHERE `account_id` = (SELECT account_id FROM webhook_events WHERE id = OLD.event_id) AND `refuse_delete`);
  INSERT INTO `account_changes` (`account_id`, `table_name`, `pk`) SELECT (SELECT account_id FROM webhook_events WHERE id = OLD.event_id), 'webhook_attempts', json_array(OLD.event_id, OLD.attempt) WHERE EXISTS (SELECT 1 FROM `account_move_rules` WHERE `account_id` = (SELECT account_id FROM webhook_events WHERE id = OLD.event_id) AND `log`);
END;

CREATE VIEW `account_move_fence` AS SELECT `account_id`, `owner` FROM `account_moves`;

CREATE TRIGGER `account_move_fence_check` INSTEAD OF INSERT ON `account_move_fence`
BEGIN
  SELECT RAISE(ABORT, 'MOVE_FENCED') WHERE NOT EXISTS (SELECT 1 FROM `account_moves` WHERE `account_id` = NEW.account_id AND `owner` = NEW.owner);
  UPDATE `account_moves` SET `state` = 'filling' WHERE `account_id` = NEW.account_id AND `state` = 'incoming';
END;
