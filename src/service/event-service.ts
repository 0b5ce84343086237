import { fromBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import type { OutboxRepository } from "../storage/outbox-repository.js";
import type { CartEventService } from "../../gen/commerce/cart/v1/event_service_pb.js";
import { CartEventSchema } from "../../gen/commerce/cart/v1/events_pb.js";
import { eventTypeName } from "./cart-events.js";
import type { EventWatchers } from "./event-watchers.js";

export interface CartEventServiceDeps {
  readonly outbox: OutboxRepository;
  readonly watchers: EventWatchers;
}

/** Events read from the outbox at a time, and so the most a watch holds. */
const feedPageSize = 100;
/** While events wait for an older transaction to end, the feed looks again this often. */
const heldBackPollMs = 500;

export function createCartEventService({ outbox, watchers }: CartEventServiceDeps): ServiceImpl<typeof CartEventService> {
  return {
    async *watchEvents(request, context) {
      const types = request.types.length > 0 ? new Set(request.types.map(eventTypeName)) : undefined;
      let position = request.afterEventId ? await outbox.feedPosition(request.afterEventId) : undefined;
      if (request.afterEventId && !position) {
        throw new ConnectError(
          `event ${request.afterEventId} is not in the change feed: unknown, or pruned after EVENTS_RETENTION_HOURS`,
          Code.NotFound,
        );
      }
      // Subscribed before the first read, so that no event committed after it goes unseen.
      const subscription = watchers.subscribe();
      try {
        for (;;) {
          // Filtered here rather than in the query, so that the position moves past the events left out too.
          const { events, heldBack } = await outbox.feedAfter(position, feedPageSize);
          for (const event of events) {
            if (!types || types.has(event.type)) yield { event: fromBinary(CartEventSchema, event.data) };
          }
          position = events.at(-1)?.position ?? position;
          if (events.length === feedPageSize) continue;
          if (!(await subscription.next(context.signal, heldBack ? heldBackPollMs : undefined))) return;
        }
      } finally {
        subscription.close();
      }
    },
  };
}
