import { z } from 'zod';

/**
 * A drain request on the drain queue (internal: the bridge writes and reads it): "send what waits
 * in this app's backlog". Whoever receives it takes the app's lane lease, or leaves it to the holder.
 *
 * @example
 * { "clientId": "dingabc123" }
 */
export const drainMessageSchema = z.object({ clientId: z.string().min(1).max(128) }).strict();

export type DrainMessage = z.infer<typeof drainMessageSchema>;
