/**
 * Reads a connection's subscriptions from nats-server's monitoring endpoint
 * (`/connz?subs=1`), to count NATS subscriptions as the server sees them.
 *
 * @module
 */

interface Connz {
  connections?: {
    name?: string;
    subscriptions_list?: string[];
  }[];
}

/**
 * Subjects the server holds for the connection named `name`, sorted
 * (`_INBOX.` request muxes excluded).
 */
export async function serverSubscriptions(
  monitorUrl: string,
  name: string,
): Promise<string[]> {
  const response = await fetch(`${monitorUrl}/connz?subs=1&limit=1024`);
  const connz = await response.json() as Connz;
  const connection = connz.connections?.find((c) => c.name === name);
  if (!connection) throw new Error(`No connection named "${name}"`);
  return (connection.subscriptions_list ?? [])
    .filter((s) => !s.startsWith("_INBOX."))
    .sort();
}
