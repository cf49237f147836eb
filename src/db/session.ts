// D1 read replication through the Sessions API. Each request opens one D1 session: a request that
// may write starts on the primary (`first-primary`), a read starts where the client's last bookmark
// says (X-D1-Bookmark) or anywhere (`first-unconstrained`). Every response carries the session's
// latest bookmark, so a client that sends back the last one it got reads at least what it wrote.
// Clients that send no bookmark (the cf CLI) are not left to a lagging replica for what they have just
// created: a read of theirs that finds nothing is asked again on the primary (readAgainOnPrimary).
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

/** Reads asked again on the primary by readAgainOnPrimary. */
const againOnPrimary = new WeakSet<Request>();

/** This request is a read asked again on the primary: it was counted (rate limits) the first time. */
export const isReadAgain = (request: Request): boolean => againOnPrimary.has(request);

export const d1Session: MiddlewareHandler<AppEnv> = async (c, next) => {
  const sent = bookmarkFrom(c.req.header(BOOKMARK_HEADER));
  // HEAD reaches the GET handlers (Hono), and reads nothing more.
  const constraint = READS.has(c.req.method) && !againOnPrimary.has(c.req.raw) ? (sent ?? "first-unconstrained") : "first-primary";
  const session = c.env.DB.withSession(constraint);
  c.set("db", database(session));

  await next();

  // A request that ran no query has no bookmark of its own: the client's is still the latest it knows.
  const bookmark = session.getBookmark() ?? sent;
  if (bookmark !== null) c.res.headers.set(BOOKMARK_HEADER, bookmark);
};

/**
 * A read without a bookmark may reach a replica that has not yet seen the client's last write: the cf
 * CLI sends none, and polls a package right after it created and uploaded it. A 404 from such a read
 * that looked something up (it carries a bookmark; an unknown route runs no query) is asked again, once,
 * on the primary before the client gets it. A client that sends its bookmark never needs this.
 */
export async function readAgainOnPrimary(
  request: Request, response: Response, again: (request: Request) => Promise<Response>,
): Promise<Response> {
  const askAgain = response.status === 404 && READS.has(request.method) && !againOnPrimary.has(request)
    && bookmarkFrom(request.headers.get(BOOKMARK_HEADER) ?? undefined) === null && response.headers.has(BOOKMARK_HEADER);
  if (!askAgain) return response;
  await response.body?.cancel();
  const retry = new Request(request);
  againOnPrimary.add(retry);
  return again(retry);
}
