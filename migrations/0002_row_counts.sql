CREATE TABLE `row_counts` (
	`name` text PRIMARY KEY NOT NULL,
	`n` integer NOT NULL
);
--> statement-breakpoint
-- Written by hand after the generated table (drizzle-kit does not model triggers): the count of
-- packages, kept by triggers in the same transaction as every insert and delete (cascades included),
-- so an unfiltered package list reads its total instead of counting every row.
INSERT INTO `row_counts` (`name`, `n`) SELECT 'packages', count(*) FROM `packages`;
--> statement-breakpoint
CREATE TRIGGER `packages_count_insert` AFTER INSERT ON `packages` BEGIN
	UPDATE `row_counts` SET `n` = `n` + 1 WHERE `name` = 'packages';
END;
--> statement-breakpoint
CREATE TRIGGER `packages_count_delete` AFTER DELETE ON `packages` BEGIN
	UPDATE `row_counts` SET `n` = `n` - 1 WHERE `name` = 'packages';
END;
