// D1 reports a broken constraint as an error whose message (or its cause's) names it. The stores
// let the database decide uniqueness and existence (no read-then-write race) and read the verdict here.

function messages(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) parts.push(e.message);
  return parts.join(" | ");
}

/** The UNIQUE constraint (named by one of its columns, e.g. "organizations.name") was broken. */
export const isUniqueViolation = (err: unknown, column: string): boolean => {
  const text = messages(err);
  return text.includes("UNIQUE constraint failed") && text.includes(column);
};

/** A FOREIGN KEY constraint was broken: the parent row went away meanwhile. */
export const isForeignKeyViolation = (err: unknown): boolean => messages(err).includes("FOREIGN KEY constraint failed");
