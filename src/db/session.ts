// D1 read replication through the Sessions API. Each request opens one D1 session: a request that
// may write starts on the primary (`first-primary`), a read starts where the client's last bookmark
// says (X-D1-Bookmark) or anywhere (`first-unconstrained`). Every response carries the session's
// latest bookmark, so a client that sends back the last one it got reads at least what it wrote.
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../env";
import { database } from "./client";

const BOOKMARK_HEADER = "X-D1-Bookmark";

/** What D1 issues: three 8-digit hex counters and a 32-digit hex id. Anything else is ignored, never passed to D1. */
const BOOKMARK = /^[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{32}$/;

const READS = new Set(["GET", "HEAD"]);

/** The client's bookmark when it is one D1 could have issued; null for absent, empty or malformed. */
function bookmarkFrom(header: string | undefined): string | null {
  if (header === undefined) return null;
  const value = header.trim();
  return BOOKMARK.test(value) ? value : null;
}

export const d1Session: MiddlewareHandler<AppEnv> = async (c, next) => {
  const sent = bookmarkFrom(c.req.header(BOOKMARK_HEADER));
  // HEAD reaches the GET handlers (Hono), and reads nothing more.
  const constraint = READS.has(c.req.method) ? (sent ?? "first-unconstrained") : "first-primary";
  const session = c.env.DB.withSession(constraint);
  c.set("db", database(session));

  await next();

  // A request that ran no query has no bookmark of its own: the client's is still the latest it knows.
  const bookmark = session.getBookmark() ?? sent;
  if (bookmark !== null) c.res.headers.set(BOOKMARK_HEADER, bookmark);
};
