import { z } from 'zod';

/**
 * A drain request on the drain queue (internal: the bridge writes and reads it): "send what waits
 * in this app's backlog". Whoever receives it takes the app's lane lease, or leaves it to the holder.
 *
 * @example
 * { "clientId": "dingabc123" }
 * { "clientId": "dingabc123", "watch": "<holder id>" }
 */
export const drainMessageSchema = z
  .object({
    clientId: z.string().min(1).max(128),
    /**
     * A dead-man's switch: the lane holder this request watches. While that holder still holds the
     * lane the request comes back later; once its lease ran out, the request takes the lane and drains.
     */
    watch: z.string().min(1).max(200).optional(),
  })
  .strict();

export type DrainMessage = z.infer<typeof drainMessageSchema>;
