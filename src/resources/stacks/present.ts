import type { Stack } from "../../db/schema";
import type { Metadata } from "../../metadata";

/** updated_at is null until the stack first changes (the contract's rule for every record). */
export function presentStack(stack: Stack, metadata: Metadata) {
  return {
    guid: stack.guid,
    created_at: stack.createdAt,
    updated_at: stack.updatedAt,
    name: stack.name,
    description: stack.description,
    run_rootfs_image: stack.runRootfsImage ?? stack.name,
    build_rootfs_image: stack.buildRootfsImage ?? stack.name,
    default: stack.isDefault,
    state: stack.state,
    state_reason: stack.stateReason,
    metadata,
    links: { self: { href: `/v3/stacks/${stack.guid}` } },
  };
}
