CREATE TABLE "cart_events" (
	"seq" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "cart_events_seq_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"id" uuid NOT NULL,
	"type" text NOT NULL,
	"cart_id" uuid NOT NULL,
	"cart_version" bigint NOT NULL,
	"time" timestamp with time zone NOT NULL,
	"data" "bytea" NOT NULL,
	"xid" "xid8" DEFAULT pg_current_xact_id() NOT NULL,
	"sent_at" timestamp with time zone,
	CONSTRAINT "cart_events_id_key" UNIQUE("id")
);
--> statement-breakpoint
CREATE INDEX "cart_events_unsent_idx" ON "cart_events" USING btree ("seq") WHERE "cart_events"."sent_at" is null;--> statement-breakpoint
CREATE INDEX "cart_events_unsent_cart_idx" ON "cart_events" USING btree ("cart_id","seq") WHERE "cart_events"."sent_at" is null;--> statement-breakpoint
CREATE INDEX "cart_events_time_idx" ON "cart_events" USING btree ("time");--> statement-breakpoint
CREATE INDEX "cart_events_xid_seq_idx" ON "cart_events" USING btree ("xid","seq");