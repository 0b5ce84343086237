-- A transaction that NOTIFYs takes a database-wide lock from its pre-commit
-- until its commit is flushed, so a trigger notifying on every event insert
-- serialized the commits of all cart mutations. The service now notifies
-- after committing, from outside the transaction, coalescing the events of
-- many commits into one NOTIFY (storage/cart-event-notifications.ts).
DROP TRIGGER cart_events_notify ON cart_events;
--> statement-breakpoint
DROP FUNCTION notify_cart_event();
