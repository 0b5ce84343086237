import type { Sql } from "./database.js";

/** What the NOTIFY of a committed cart event says (migrations/0009_events_notify.sql). */
export interface CartEventNotice {
  readonly cartId: string;
  readonly cartVersion: number;
}

/** The channel the cart_events insert trigger notifies. */
const channel = "cart_events";

/**
 * Listens for committed cart events on a connection of its own (postgres.js
 * reconnects it and listens again). `onListening` runs each time listening
 * (re)starts: notifications sent while it was not are lost, so whoever waits
 * for them should look again.
 */
export async function listenForCartEvents(
  sql: Sql,
  onNotice: (notice: CartEventNotice) => void,
  onListening: () => void,
): Promise<{ unlisten(): Promise<void> }> {
  return sql.listen(
    channel,
    (payload) => {
      const [cartId, version] = payload.split(" ");
      if (cartId && version) onNotice({ cartId, cartVersion: Number(version) });
    },
    onListening,
  );
}
