-- Wakes the event relay and the change feeds of every process when cart
-- events commit: NOTIFY is delivered at commit, and only then. The payload
-- carries ids and versions only ("<cart id> <cart version> <seq>"), far below
-- NOTIFY's 8000-byte limit; listeners read the events themselves.
CREATE FUNCTION notify_cart_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('cart_events', NEW.cart_id::text || ' ' || NEW.cart_version::text || ' ' || NEW.seq::text);
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER cart_events_notify AFTER INSERT ON cart_events FOR EACH ROW EXECUTE FUNCTION notify_cart_event();
