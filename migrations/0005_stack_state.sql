-- Stack states (the reference's StackStates): every existing stack is ACTIVE.
ALTER TABLE `stacks` ADD `state` text DEFAULT 'ACTIVE' NOT NULL;--> statement-breakpoint
ALTER TABLE `stacks` ADD `state_reason` text;
