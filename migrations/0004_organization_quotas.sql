-- Organization quotas: the default quota every organization names (the reference's QuotaDefinition
-- "default", with cloud_controller_ng's default limits), served read-only.
CREATE TABLE `organization_quotas` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`guid` text NOT NULL,
	`name` text NOT NULL,
	`is_default` integer DEFAULT false NOT NULL,
	`total_memory_in_mb` integer,
	`per_process_memory_in_mb` integer,
	`total_instances` integer,
	`per_app_tasks` integer,
	`log_rate_limit_in_bytes_per_second` integer,
	`paid_services_allowed` integer DEFAULT true NOT NULL,
	`total_service_instances` integer,
	`total_service_keys` integer,
	`total_routes` integer,
	`total_reserved_ports` integer,
	`total_domains` integer,
	`created_at` text NOT NULL,
	`updated_at` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `organization_quotas_guid_unique` ON `organization_quotas` (`guid`);--> statement-breakpoint
CREATE UNIQUE INDEX `organization_quotas_name_unique` ON `organization_quotas` (`name`);--> statement-breakpoint
INSERT INTO `organization_quotas` (`guid`, `name`, `is_default`, `total_memory_in_mb`, `paid_services_allowed`, `total_service_instances`, `total_routes`, `total_reserved_ports`, `created_at`)
SELECT
  lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || substr(lower(hex(randomblob(2))), 2) || '-'
    || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6))),
  'default', 1, 10240, 1, 100, 1000, 0, strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
WHERE NOT EXISTS (SELECT 1 FROM `organization_quotas` WHERE `name` = 'default');
--> statement-breakpoint
ALTER TABLE `organizations` ADD `quota_guid` text REFERENCES organization_quotas(guid);--> statement-breakpoint
UPDATE `organizations` SET `quota_guid` = (SELECT `guid` FROM `organization_quotas` WHERE `is_default` = 1) WHERE `quota_guid` IS NULL;
--> statement-breakpoint
CREATE TRIGGER `organizations_default_quota` AFTER INSERT ON `organizations` WHEN NEW.`quota_guid` IS NULL BEGIN
	UPDATE `organizations` SET `quota_guid` = (SELECT `guid` FROM `organization_quotas` WHERE `is_default` = 1) WHERE `id` = NEW.`id`;
END;
