-- A transaction that NOTIFYs takes a server-wide lock from its pre-commit
-- until its commit is flushed, so a trigger notifying on every event insert
-- serialized the commits of all cart mutations. The service now notifies
-- after committing, from outside the transaction, coalescing the events of
-- many commits into one NOTIFY (storage/cart-event-notifications.ts).
-- Upgrading with a rolling deploy from a version before this migration, the
-- watches of processes still running the old version miss the changes made
-- meanwhile (they see each cart again at its next change); a rollback needs
-- the trigger of 0009 back.
DROP TRIGGER IF EXISTS cart_events_notify ON cart_events;
--> statement-breakpoint
DROP FUNCTION IF EXISTS notify_cart_event();
