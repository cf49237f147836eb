import type { Stack } from "../../db/schema";

export function presentStack(stack: Stack) {
  return {
    guid: stack.guid,
    created_at: stack.createdAt,
    updated_at: stack.updatedAt ?? stack.createdAt,
    name: stack.name,
    description: stack.description,
    run_rootfs_image: stack.runRootfsImage ?? stack.name,
    build_rootfs_image: stack.buildRootfsImage ?? stack.name,
    default: stack.isDefault,
    metadata: { labels: {}, annotations: {} },
    links: { self: { href: `/v3/stacks/${stack.guid}` } },
  };
}
